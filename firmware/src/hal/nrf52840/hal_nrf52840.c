/* HAL for the nRF52840 on the Arduino Nano 33 BLE (real hardware and Renode; QEMU has no nRF).
 * Registers in regs.h, checked against the vendor SVD by tests/unit/test_svd_registers.py.
 *
 * Clock: the CPU always runs at 64 MHz; the HFXO crystal is started so the UART's baud rate is
 * crystal-accurate (the internal RC oscillator is +-1.5 %). Timer: DWT CYCCNT (core cycles).
 * Console: UART0 on the Nano's TX/RX pins (Arduino Serial1): TX P1.03, RX P1.10. The UARTE0
 * instance is driven through its non-DMA UART0 interface: polled byte by byte with a 6-byte
 * receive FIFO, where EasyDMA would need a buffer handed over before bytes arrive.
 * The Nano's USB port is the nRF's own USB device (no USB-serial chip): the harness reaches
 * the firmware through a USB-serial adapter on TX/RX (--port). */
#include "../cortexm/cortexm.h"
#include "../hal.h"
#include "regs.h"

#define CORE_HZ 64000000u
#define TX_PORT 1u
#define TX_PIN 3u
#define RX_PORT 1u
#define RX_PIN 10u
#define SCB_VTOR REG32(0xE000ED08u)

#if HIL_BAUD == 115200
#define BAUDRATE_VALUE UART0_BAUDRATE_BAUDRATE_Baud115200
#elif HIL_BAUD == 1000000
#define BAUDRATE_VALUE UART0_BAUDRATE_BAUDRATE_Baud1M
#else
#error "hal_nrf52840: add this baud rate's BAUDRATE value (nRF52840 product specification, UART)"
#endif

extern const void *const vector_table[];

static void clock_init(void)
{
    CLOCK_EVENTS_HFCLKSTARTED = 0;
    CLOCK_TASKS_HFCLKSTART = 1;
    while (CLOCK_EVENTS_HFCLKSTARTED == 0) {
    }
}

static void uart_init(void)
{
    /* While the UART owns them, TXD must be an output driven high (product spec., UART pins). */
    P1_OUTSET = P1_OUTSET_PIN3;
    P1_DIRSET = P1_DIRSET_PIN3;
    UART0_PSEL_TXD = TX_PORT << UART0_PSEL_TXD_PORT_Pos | TX_PIN << UART0_PSEL_TXD_PIN_Pos;
    UART0_PSEL_RXD = RX_PORT << UART0_PSEL_RXD_PORT_Pos | RX_PIN << UART0_PSEL_RXD_PIN_Pos;
    UART0_BAUDRATE = BAUDRATE_VALUE;
    UART0_CONFIG = 0; /* 8N1, no flow control */
    UART0_ENABLE = UART0_ENABLE_ENABLE_Enabled;
    UART0_EVENTS_RXDRDY = 0;
    UART0_EVENTS_TXDRDY = 0;
    UART0_TASKS_STARTRX = 1;
    UART0_TASKS_STARTTX = 1;
}

void hal_init(void)
{
    /* Behind the Arduino bootloader the image starts at 0x10000: point exceptions at our table. */
    SCB_VTOR = (uint32_t)(uintptr_t)vector_table;
    cortexm_dsb();
    clock_init();
    uart_init();
    cortexm_cycle_counter_start();
}

int hal_uart_getc(void)
{
    if (UART0_EVENTS_ERROR) {
        UART0_ERRORSRC = UART0_ERRORSRC; /* write 1 to clear; the link's CRC rejects the frame */
        UART0_EVENTS_ERROR = 0;
    }
    if (!UART0_EVENTS_RXDRDY) {
        return -1;
    }
    UART0_EVENTS_RXDRDY = 0; /* clear before reading RXD: the next byte then raises it again */
    return (int)(UART0_RXD & UART0_RXD_RXD_Msk);
}

void hal_uart_write(const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        UART0_TXD = data[i];
        while (!UART0_EVENTS_TXDRDY) {
        }
        UART0_EVENTS_TXDRDY = 0;
    }
}

uint32_t hal_timer_ticks(void)
{
    return DWT_CYCCNT;
}

uint32_t hal_timer_hz(void)
{
    return CORE_HZ;
}

void hal_idle(void)
{
    /* Keep polling: the cycle counter, our clock, stops while the core sleeps. */
}
