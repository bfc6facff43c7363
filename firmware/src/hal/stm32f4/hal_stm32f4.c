/* HAL for the STM32F405 (Netduino Plus 2), real or under QEMU's netduinoplus2 machine.
 * Registers in regs.h (RM0090), checked against the vendor SVD by tests/unit/test_svd_registers.py.
 * The core runs on the 16 MHz HSI oscillator: the PLL is not configured. */
#include "../cortexm/cortexm.h"
#include "../hal.h"
#include "regs.h"

#define USART1_IRQ 37u
#define GPIO_MODE_ALTERNATE 0x2u
#define GPIO_AF7_USART1 0x7u

#define HSI_HZ 16000000u
#if HIL_EMULATED
#define TIMER_HZ 1000000000u /* QEMU clocks TIM2 at 1 GHz: one tick per instruction with -icount shift=0 */
#else
#define TIMER_HZ HSI_HZ /* DWT CYCCNT counts core cycles */
#endif

static void uart_init(void)
{
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    /* PA9 (TX) and PA10 (RX): alternate function 7. */
    GPIOA_MODER = (GPIOA_MODER & ~(0x3u << GPIOA_MODER_MODER9_Pos | 0x3u << GPIOA_MODER_MODER10_Pos)) |
                  GPIO_MODE_ALTERNATE << GPIOA_MODER_MODER9_Pos |
                  GPIO_MODE_ALTERNATE << GPIOA_MODER_MODER10_Pos;
    GPIOA_AFRH = (GPIOA_AFRH & ~(0xFu << GPIOA_AFRH_AFRH9_Pos | 0xFu << GPIOA_AFRH_AFRH10_Pos)) |
                 GPIO_AF7_USART1 << GPIOA_AFRH_AFRH9_Pos | GPIO_AF7_USART1 << GPIOA_AFRH_AFRH10_Pos;
    USART1_BRR = (HSI_HZ + HIL_BAUD / 2u) / HIL_BAUD; /* APB2 = HSI, oversampling by 16 */
    USART1_CR1 = USART1_CR1_UE | USART1_CR1_TE | USART1_CR1_RE;
}

static void timer_init(void)
{
#if HIL_EMULATED
    RCC_APB1ENR |= RCC_APB1ENR_TIM2EN;
    TIM2_PSC = 0;
    TIM2_ARR = 0xFFFFFFFFu;
    TIM2_EGR = TIM2_EGR_UG;
    TIM2_CR1 = TIM2_CR1_CEN;
#else
    cortexm_cycle_counter_start();
#endif
}

void hal_init(void)
{
    uart_init();
    timer_init();
#if HIL_EMULATED
    USART1_CR1 |= USART1_CR1_RXNEIE;
    cortexm_wakeup_irq_enable(USART1_IRQ);
    cortexm_wakeup_systick_start(HSI_HZ / 100u); /* wake at least every 10 ms */
#endif
}

void hal_idle(void)
{
#if HIL_EMULATED
    cortexm_wait_for_wakeup();
#endif
}

int hal_uart_getc(void)
{
    if (!(USART1_SR & USART1_SR_RXNE)) {
        return -1;
    }
    return (int)(USART1_DR & 0xFFu);
}

void hal_uart_write(const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        while (!(USART1_SR & USART1_SR_TXE)) {
        }
        USART1_DR = data[i];
    }
}

uint32_t hal_timer_ticks(void)
{
#if HIL_EMULATED
    return TIM2_CNT;
#else
    return DWT_CYCCNT;
#endif
}

uint32_t hal_timer_hz(void)
{
    return TIMER_HZ;
}

#if HIL_EMULATED
/* QEMU's netduinoplus2 exits with the code (the real board keeps startup.c's hal_halt). */
void hal_halt(int code)
{
    cortexm_semihosting_exit(code);
}
#endif
