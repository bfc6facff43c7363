/* HAL for QEMU's Arm MPS2 machines (mps2-an500 stands in for the STM32F746: same Cortex-M7).
 * Peripherals: CMSDK APB UART0 and TIMER0, from the Arm MPS2 FPGA application notes
 * (AN385/AN500) as QEMU models them. Only ever run under QEMU, so it exits by semihosting. */
#include "../cortexm/cortexm.h"
#include "../hal.h"

#define UART0_BASE 0x40004000u
#define UART_DATA REG32(UART0_BASE + 0x00u)
#define UART_STATE REG32(UART0_BASE + 0x04u)
#define UART_CTRL REG32(UART0_BASE + 0x08u)
#define UART_INTSTATUS REG32(UART0_BASE + 0x0Cu) /* write 1 to clear */
#define UART_BAUDDIV REG32(UART0_BASE + 0x10u)
#define UART_STATE_TX_FULL (1u << 0)
#define UART_STATE_RX_FULL (1u << 1)
#define UART_CTRL_TX_EN (1u << 0)
#define UART_CTRL_RX_EN (1u << 1)
#define UART_CTRL_RX_IRQ_EN (1u << 3)
#define UART_INT_RX (1u << 1)
#define UART0_RX_IRQ 0u

#define TIMER0_BASE 0x40000000u
#define TIMER_CTRL REG32(TIMER0_BASE + 0x00u)
#define TIMER_VALUE REG32(TIMER0_BASE + 0x04u)
#define TIMER_RELOAD REG32(TIMER0_BASE + 0x08u)
#define TIMER_CTRL_ENABLE (1u << 0)
#define TIMER_CTRL_IRQ_ENABLE (1u << 3)

/* TIMER1 only wakes the sleeping core (QEMU's mps2 SysTick does not end a WFI here). */
#define TIMER1_BASE 0x40001000u
#define TIMER1_CTRL REG32(TIMER1_BASE + 0x00u)
#define TIMER1_VALUE REG32(TIMER1_BASE + 0x04u)
#define TIMER1_RELOAD REG32(TIMER1_BASE + 0x08u)
#define TIMER1_INTCLEAR REG32(TIMER1_BASE + 0x0Cu)
#define TIMER1_IRQ 9u

#define SYSCLK_HZ 25000000u /* the FPGA's peripheral clock as QEMU models it */

void hal_init(void)
{
    UART_BAUDDIV = SYSCLK_HZ / HIL_BAUD; /* QEMU ignores the rate but rejects a divider < 16 */
    UART_CTRL = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_IRQ_EN;
    TIMER_RELOAD = 0xFFFFFFFFu;
    TIMER_VALUE = 0xFFFFFFFFu;
    TIMER_CTRL = TIMER_CTRL_ENABLE;
    TIMER1_RELOAD = SYSCLK_HZ / 100u; /* wake at least every 10 ms */
    TIMER1_VALUE = SYSCLK_HZ / 100u;
    TIMER1_CTRL = TIMER_CTRL_ENABLE | TIMER_CTRL_IRQ_ENABLE;
    cortexm_wakeup_irq_enable(UART0_RX_IRQ);
    cortexm_wakeup_irq_enable(TIMER1_IRQ);
}

void hal_idle(void)
{
    /* The UART's and TIMER1's interrupt lines stay high until cleared, and a high line keeps
     * the interrupt pending: clear both before sleeping, or every WFI returns at once, the core
     * never sleeps and (under -icount) virtual time crawls. */
    TIMER1_INTCLEAR = 1u;
    UART_INTSTATUS = UART_INT_RX;
    if (UART_STATE & UART_STATE_RX_FULL) {
        return; /* a byte arrived meanwhile: its interrupt was just cleared, so do not sleep */
    }
    cortexm_wait_for_wakeup();
}

int hal_uart_getc(void)
{
    if (!(UART_STATE & UART_STATE_RX_FULL)) {
        return -1;
    }
    return (int)(UART_DATA & 0xFFu);
}

void hal_uart_write(const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        while (UART_STATE & UART_STATE_TX_FULL) {
        }
        UART_DATA = data[i];
    }
}

uint32_t hal_timer_ticks(void)
{
    return 0xFFFFFFFFu - TIMER_VALUE; /* TIMER0 counts down */
}

uint32_t hal_timer_hz(void)
{
    return SYSCLK_HZ;
}

void hal_halt(int code)
{
    cortexm_semihosting_exit(code);
}
