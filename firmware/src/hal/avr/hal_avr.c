/* HAL for the ATmega328P (Arduino Uno), on the real board and in QEMU's arduino-uno machine.
 * Registers and bits come from avr-libc's <avr/io.h> (Microchip's device header).
 *
 * UART: USART0, 8N1 at HIL_BAUD with double speed (U2X0), received by interrupt into a ring
 * buffer: the USART holds only two bytes, too few while the firmware sends a reply.
 * Timer: Timer1 at F_CPU (prescaler 1), extended to 32 bits by counting overflows (every
 * 65536 cycles, 4.1 ms at 16 MHz) in an interrupt: hal_timer_ticks() counts CPU cycles.
 * Unlike the ARM firmware (interrupts masked), the AVR one needs these two interrupts; its
 * timings are cycles on the real board and host time in QEMU (no icount for AVR). */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>

#include "../hal.h"

/* A power of two that holds a whole frame (LINK_MAX_PAYLOAD + 14): QEMU delivers bytes as fast
 * as the interrupt takes them, and the host sends one frame at a time (it awaits each ACK). */
#define RX_BUFFER_SIZE 128u
#define CYCLES_PER_MS (F_CPU / 1000UL)
#define HALT_SLEEP_MODE SLEEP_MODE_PWR_DOWN

static volatile uint8_t rx_buffer[RX_BUFFER_SIZE];
static volatile uint8_t rx_head; /* written by the interrupt */
static volatile uint8_t rx_tail; /* written by hal_uart_getc */
static volatile uint16_t timer_overflows;
static volatile uint32_t millis_count;
static uint32_t millis_cycles; /* cycles not yet counted as a whole millisecond */

ISR(USART_RX_vect)
{
    uint8_t byte = UDR0;
    uint8_t next = (uint8_t)((rx_head + 1u) & (RX_BUFFER_SIZE - 1u));
    if (next != rx_tail) { /* when full the byte is dropped: the link's CRC catches it */
        rx_buffer[rx_head] = byte;
        rx_head = next;
    }
}

ISR(TIMER1_OVF_vect)
{
    timer_overflows++;
    /* Milliseconds kept here: millis.c's 64-bit division costs thousands of AVR cycles per call,
     * and the link asks for the time after every received byte (87 us apart at 115200 baud). */
    millis_cycles += 65536UL;
    while (millis_cycles >= CYCLES_PER_MS) {
        millis_cycles -= CYCLES_PER_MS;
        millis_count++;
    }
}

static void uart_init(void)
{
    UCSR0A = _BV(U2X0);
    UBRR0 = (uint16_t)((F_CPU + 4UL * HIL_BAUD) / (8UL * HIL_BAUD) - 1u); /* rounded */
    UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);                                   /* 8N1 */
    UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
}

static void timer_init(void)
{
    TCCR1A = 0;
    TCNT1 = 0;
    TCCR1B = _BV(CS10); /* normal mode, clock = F_CPU */
    TIFR1 = _BV(TOV1);
    TIMSK1 = _BV(TOIE1);
}

void hal_init(void)
{
    uart_init();
    timer_init();
    sei();
}

int hal_uart_getc(void)
{
    if (rx_tail == rx_head) {
        return -1;
    }
    uint8_t byte = rx_buffer[rx_tail];
    rx_tail = (uint8_t)((rx_tail + 1u) & (RX_BUFFER_SIZE - 1u));
    return byte;
}

void hal_uart_write(const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        while (!(UCSR0A & _BV(UDRE0))) {
        }
        UDR0 = data[i];
    }
}

uint32_t hal_timer_ticks(void)
{
    uint8_t sreg = SREG;
    cli();
    uint16_t low = TCNT1;
    uint16_t high = timer_overflows;
    if ((TIFR1 & _BV(TOV1)) && low < 0x8000u) {
        high++; /* wrapped after interrupts were masked: the overflow is not counted yet */
    }
    uint32_t ticks = (uint32_t)high << 16 | low;
    /* QEMU raises the overflow interrupt a little after TCNT1 has wrapped, so a read in between
     * would go back 65536 ticks: never return less than last time (on the chip TOV1 is exact). */
    static uint32_t last_ticks;
    if ((int32_t)(ticks - last_ticks) < 0) {
        ticks = last_ticks;
    }
    last_ticks = ticks;
    SREG = sreg;
    return ticks;
}

uint32_t hal_millis(void)
{
    uint8_t sreg = SREG;
    cli();
    uint32_t now = millis_count; /* 4 ms steps: enough for the link's 100 ms timeout */
    SREG = sreg;
    return now;
}

uint32_t hal_timer_hz(void)
{
    return F_CPU;
}

void hal_idle(void)
{
#if HIL_EMULATED
    return; /* QEMU 7.2's AVR SLEEP never wakes on an interrupt (measured): poll instead */
#endif
    /* Idle sleep until an interrupt (a received byte, or Timer1 within 4.1 ms). Interrupts
     * are enabled by the instruction before SLEEP, so a byte that arrived after the check
     * still wakes us (an AVR executes the instruction after SEI before any interrupt). */
    cli();
    if (rx_head == rx_tail) {
        set_sleep_mode(SLEEP_MODE_IDLE);
        sleep_enable();
        sei();
        sleep_cpu();
        sleep_disable();
    }
    sei();
}

static void wait_transmitted(void)
{
    if (UCSR0B & _BV(TXEN0)) {
        while (!(UCSR0A & _BV(UDRE0))) {
        }
    }
}

void hal_reset(void)
{
    wait_transmitted();
    cli();
#if HIL_EMULATED
    /* QEMU 7.2 models no AVR watchdog: restart at the reset vector. avr-libc's start-up clears
     * SREG, sets the stack, copies .data and clears .bss; hal_init() sets every register used. */
    __asm__ volatile("jmp 0");
#else
    wdt_enable(WDTO_15MS); /* a real reset: every peripheral back to its reset state */
#endif
    for (;;) {
    }
}

void hal_halt(int code)
{
    (void)code; /* QEMU's AVR machine has no way to exit with a status */
    wait_transmitted();
    cli();
    set_sleep_mode(HALT_SLEEP_MODE); /* with interrupts off only a reset wakes the chip */
    sleep_enable();
    for (;;) {
        sleep_cpu();
    }
}
