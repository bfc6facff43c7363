/* HAL for the STM32F746ZG on the NUCLEO-F746ZG board (real hardware only: QEMU has no F7).
 * Register addresses and bits from RM0385 (STM32F75xxx/74xxx reference manual).
 *
 * Clock: 8 MHz HSE bypass (the ST-LINK's MCO) -> PLL M=4 N=216 P=2 -> 216 MHz SYSCLK, with the
 * voltage regulator's over-drive on and 7 flash wait states; AHB 216 MHz, APB1 54 MHz, APB2 108 MHz.
 * Console: USART3 on PD8 (TX) / PD9 (RX), AF7, wired to the ST-LINK virtual COM port. */
#include "../cortexm/cortexm.h"
#include "../hal.h"

#define RCC_BASE 0x40023800u
#define RCC_CR REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR REG32(RCC_BASE + 0x04u)
#define RCC_CFGR REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR REG32(RCC_BASE + 0x40u)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_HSEBYP (1u << 18)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_PLLCFGR_PLLSRC_HSE (1u << 22)
#define RCC_CFGR_SW_PLL 0x2u
#define RCC_CFGR_SWS_MASK (0x3u << 2)
#define RCC_CFGR_SWS_PLL (0x2u << 2)
#define RCC_CFGR_PPRE1_DIV4 (0x5u << 10)
#define RCC_CFGR_PPRE2_DIV2 (0x4u << 13)
#define RCC_AHB1ENR_GPIODEN (1u << 3)
#define RCC_APB1ENR_USART3EN (1u << 18)
#define RCC_APB1ENR_PWREN (1u << 28)

#define PWR_BASE 0x40007000u
#define PWR_CR1 REG32(PWR_BASE + 0x00u)
#define PWR_CSR1 REG32(PWR_BASE + 0x04u)
#define PWR_CR1_VOS_SCALE1 (0x3u << 14)
#define PWR_CR1_ODEN (1u << 16)
#define PWR_CR1_ODSWEN (1u << 17)
#define PWR_CSR1_ODRDY (1u << 16)
#define PWR_CSR1_ODSWRDY (1u << 17)

#define FLASH_ACR REG32(0x40023C00u)
#define FLASH_ACR_LATENCY_7WS 0x7u
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ARTEN (1u << 9)

#define GPIOD_BASE 0x40020C00u
#define GPIOD_MODER REG32(GPIOD_BASE + 0x00u)
#define GPIOD_AFRH REG32(GPIOD_BASE + 0x24u)

#define USART3_BASE 0x40004800u
#define USART_CR1 REG32(USART3_BASE + 0x00u)
#define USART_BRR REG32(USART3_BASE + 0x0Cu)
#define USART_ISR REG32(USART3_BASE + 0x1Cu)
#define USART_ICR REG32(USART3_BASE + 0x20u)
#define USART_RDR REG32(USART3_BASE + 0x24u)
#define USART_TDR REG32(USART3_BASE + 0x28u)
#define USART_CR1_UE (1u << 0)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_ISR_ORE (1u << 3)
#define USART_ISR_RXNE (1u << 5)
#define USART_ISR_TXE (1u << 7)
#define USART_ICR_ORECF (1u << 3)

#define SCB_CCR REG32(0xE000ED14u)
#define SCB_CCR_IC (1u << 17)
#define SCB_ICIALLU REG32(0xE000EF50u)

#define SYSCLK_HZ 216000000u
#define APB1_HZ (SYSCLK_HZ / 4u)

static void clock_init(void)
{
    RCC_APB1ENR |= RCC_APB1ENR_PWREN;
    PWR_CR1 |= PWR_CR1_VOS_SCALE1;
    RCC_CR |= RCC_CR_HSEBYP | RCC_CR_HSEON;
    while (!(RCC_CR & RCC_CR_HSERDY)) {
    }
    /* PLLM=4 (bits 5:0), PLLN=216 (14:6), PLLP=/2 (17:16 = 0), PLLQ=9 (27:24). */
    RCC_PLLCFGR = 4u | (216u << 6) | RCC_PLLCFGR_PLLSRC_HSE | (9u << 24);
    RCC_CR |= RCC_CR_PLLON;
    PWR_CR1 |= PWR_CR1_ODEN; /* over-drive, needed above 180 MHz */
    while (!(PWR_CSR1 & PWR_CSR1_ODRDY)) {
    }
    PWR_CR1 |= PWR_CR1_ODSWEN;
    while (!(PWR_CSR1 & PWR_CSR1_ODSWRDY)) {
    }
    FLASH_ACR = FLASH_ACR_LATENCY_7WS | FLASH_ACR_PRFTEN | FLASH_ACR_ARTEN;
    while ((FLASH_ACR & 0xFu) != FLASH_ACR_LATENCY_7WS) {
    }
    while (!(RCC_CR & RCC_CR_PLLRDY)) {
    }
    RCC_CFGR = RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2 | RCC_CFGR_SW_PLL;
    while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL) {
    }
}

static void icache_enable(void)
{
    cortexm_dsb();
    cortexm_isb();
    SCB_ICIALLU = 0;
    cortexm_dsb();
    cortexm_isb();
    SCB_CCR |= SCB_CCR_IC;
    cortexm_dsb();
    cortexm_isb();
}

static void uart_init(void)
{
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIODEN;
    RCC_APB1ENR |= RCC_APB1ENR_USART3EN;
    /* PD8 (TX), PD9 (RX): alternate function 7. */
    GPIOD_MODER = (GPIOD_MODER & ~(0xFu << 16)) | (0xAu << 16);
    GPIOD_AFRH = (GPIOD_AFRH & ~0xFFu) | 0x77u;
    USART_BRR = (APB1_HZ + HIL_BAUD / 2u) / HIL_BAUD; /* oversampling by 16 */
    USART_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
}

void hal_init(void)
{
    clock_init();
    icache_enable(); /* the D-cache stays off: the link and the engine share buffers without maintenance */
    uart_init();
    cortexm_cycle_counter_start();
}

int hal_uart_getc(void)
{
    uint32_t status = USART_ISR;
    if (status & USART_ISR_ORE) {
        USART_ICR = USART_ICR_ORECF; /* the link's CRC will reject the damaged frame */
    }
    if (!(status & USART_ISR_RXNE)) {
        return -1;
    }
    return (int)(USART_RDR & 0xFFu);
}

void hal_uart_write(const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        while (!(USART_ISR & USART_ISR_TXE)) {
        }
        USART_TDR = data[i];
    }
}

uint32_t hal_timer_ticks(void)
{
    return DWT_CYCCNT;
}

uint32_t hal_timer_hz(void)
{
    return SYSCLK_HZ;
}

void hal_idle(void)
{
    /* Real hardware: keep polling (the DWT cycle counter, our clock, stops during WFI). */
}

void hal_reset(void)
{
    cortexm_system_reset();
}

void hal_halt(int code)
{
    (void)code;
    for (;;) {
    }
}
