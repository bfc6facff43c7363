/* HAL for the STM32F405 (Netduino Plus 2), real or under QEMU's netduinoplus2 machine.
 * Register addresses and bits from RM0090 (STM32F405/415 reference manual).
 * The core runs on the 16 MHz HSI oscillator: the PLL is not configured. */
#include "../cortexm/cortexm.h"
#include "../hal.h"

#define RCC_BASE 0x40023800u
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR REG32(RCC_BASE + 0x40u)
#define RCC_APB2ENR REG32(RCC_BASE + 0x44u)
#define RCC_AHB1ENR_GPIOAEN (1u << 0)
#define RCC_APB1ENR_TIM2EN (1u << 0)
#define RCC_APB2ENR_USART1EN (1u << 4)

#define GPIOA_BASE 0x40020000u
#define GPIOA_MODER REG32(GPIOA_BASE + 0x00u)
#define GPIOA_AFRH REG32(GPIOA_BASE + 0x24u)

#define USART1_BASE 0x40011000u
#define USART_SR REG32(USART1_BASE + 0x00u)
#define USART_DR REG32(USART1_BASE + 0x04u)
#define USART_BRR REG32(USART1_BASE + 0x08u)
#define USART_CR1 REG32(USART1_BASE + 0x0Cu)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RXNEIE (1u << 5)
#define USART1_IRQ 37u
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_UE (1u << 13)

#define TIM2_BASE 0x40000000u
#define TIM2_CR1 REG32(TIM2_BASE + 0x00u)
#define TIM2_EGR REG32(TIM2_BASE + 0x14u)
#define TIM2_CNT REG32(TIM2_BASE + 0x24u)
#define TIM2_PSC REG32(TIM2_BASE + 0x28u)
#define TIM2_ARR REG32(TIM2_BASE + 0x2Cu)
#define TIM_CR1_CEN (1u << 0)
#define TIM_EGR_UG (1u << 0)

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
    GPIOA_MODER = (GPIOA_MODER & ~(0xFu << 18)) | (0xAu << 18);
    GPIOA_AFRH = (GPIOA_AFRH & ~(0xFFu << 4)) | (0x77u << 4);
    USART_BRR = (HSI_HZ + HIL_BAUD / 2u) / HIL_BAUD; /* APB2 = HSI, oversampling by 16 */
    USART_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
}

static void timer_init(void)
{
#if HIL_EMULATED
    RCC_APB1ENR |= RCC_APB1ENR_TIM2EN;
    TIM2_PSC = 0;
    TIM2_ARR = 0xFFFFFFFFu;
    TIM2_EGR = TIM_EGR_UG;
    TIM2_CR1 = TIM_CR1_CEN;
#else
    cortexm_cycle_counter_start();
#endif
}

void hal_init(void)
{
    uart_init();
    timer_init();
#if HIL_EMULATED
    USART_CR1 |= USART_CR1_RXNEIE;
    cortexm_wakeup_init(USART1_IRQ, HSI_HZ / 100u); /* wake at least every 10 ms */
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
    if (!(USART_SR & USART_SR_RXNE)) {
        return -1;
    }
    return (int)(USART_DR & 0xFFu);
}

void hal_uart_write(const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        while (!(USART_SR & USART_SR_TXE)) {
        }
        USART_DR = data[i];
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

void hal_reset(void)
{
    cortexm_system_reset();
}

void hal_halt(int code)
{
#if HIL_EMULATED
    cortexm_semihosting_exit(code);
#else
    (void)code;
    for (;;) {
    }
#endif
}
