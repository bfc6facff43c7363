/* HAL for the STM32F746ZG on the NUCLEO-F746ZG board (real hardware and Renode; QEMU has no F7).
 * Registers in regs.h (RM0385), checked against the vendor SVD by tests/unit/test_svd_registers.py.
 *
 * Clock: 8 MHz HSE bypass (the ST-LINK's MCO) -> PLL M=4 N=216 P=2 -> 216 MHz SYSCLK, with the
 * voltage regulator's over-drive on and 7 flash wait states; AHB 216 MHz, APB1 54 MHz, APB2 108 MHz.
 * Caches: I-cache and D-cache on. Weights are read from flash on the AXIM bus (0x08000000), where
 * the ART accelerator does not help: without the D-cache every weight load costs 7 wait states.
 * The D-cache needs no maintenance here: nothing uses DMA (the UART is polled), SRAM is only
 * touched by the core, and flash lies in the Code region, which is write-through. Whatever
 * changes flash behind the core's back (a sector erase, a debugger) must invalidate it or reset.
 * Console: USART3 on PD8 (TX) / PD9 (RX), AF7, wired to the ST-LINK virtual COM port, at the
 * board file's 921600 baud: BRR = 54 MHz / 921600 = 59 (rounded), 915254 baud, -0.7 %. */
#include "../cortexm/cortexm.h"
#include "../hal.h"
#include "regs.h"

#define SYSCLK_HZ 216000000u
#define APB1_HZ (SYSCLK_HZ / 4u)
#define PLL_M 4u   /* 8 MHz HSE / 4 = 2 MHz PLL input */
#define PLL_N 216u /* x 216 = 432 MHz VCO */
#define PLL_P 0u   /* field value 0: divide by 2 -> 216 MHz */
#define PLL_Q 9u   /* 432 / 9 = 48 MHz for USB */
#define GPIO_MODE_ALTERNATE 0x2u
#define GPIO_AF7_USART3 0x7u

static void clock_init(void)
{
    RCC_APB1ENR |= RCC_APB1ENR_PWREN;
    PWR_CR1 |= PWR_CR1_VOS_SCALE1;
    RCC_CR |= RCC_CR_HSEBYP | RCC_CR_HSEON;
    while (!(RCC_CR & RCC_CR_HSERDY)) {
    }
    RCC_PLLCFGR = PLL_M << RCC_PLLCFGR_PLLM_Pos | PLL_N << RCC_PLLCFGR_PLLN_Pos |
                  PLL_P << RCC_PLLCFGR_PLLP_Pos | RCC_PLLCFGR_PLLSRC | PLL_Q << RCC_PLLCFGR_PLLQ_Pos;
    RCC_CR |= RCC_CR_PLLON;
    PWR_CR1 |= PWR_CR1_ODEN; /* over-drive, needed above 180 MHz */
    while (!(PWR_CSR1 & PWR_CSR1_ODRDY)) {
    }
    PWR_CR1 |= PWR_CR1_ODSWEN;
    while (!(PWR_CSR1 & PWR_CSR1_ODSWRDY)) {
    }
    FLASH_ACR = FLASH_ACR_LATENCY_7WS | FLASH_ACR_PRFTEN | FLASH_ACR_ARTEN;
    while ((FLASH_ACR & FLASH_ACR_LATENCY_Msk) != FLASH_ACR_LATENCY_7WS) {
    }
    while (!(RCC_CR & RCC_CR_PLLRDY)) {
    }
    RCC_CFGR = RCC_CFGR_PPRE1_DIV4 | RCC_CFGR_PPRE2_DIV2 | RCC_CFGR_SW_PLL;
    while ((RCC_CFGR & RCC_CFGR_SWS_Msk) != RCC_CFGR_SWS_PLL) {
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

/* Invalidates every D-cache line by set and way (its content is random after reset), then
 * enables it; the sequence of CMSIS's SCB_EnableDCache. */
static void dcache_enable(void)
{
    SCB_CSSELR = 0; /* level 1 data cache */
    cortexm_dsb();
    uint32_t geometry = SCB_CCSIDR;
    uint32_t sets = (geometry & SCB_CCSIDR_NUMSETS_Msk) >> SCB_CCSIDR_NUMSETS_Pos;
    uint32_t ways = (geometry & SCB_CCSIDR_ASSOCIATIVITY_Msk) >> SCB_CCSIDR_ASSOCIATIVITY_Pos;
    uint32_t line_shift = (geometry & SCB_CCSIDR_LINESIZE_Msk) + 4u; /* log2(line bytes) */
    for (uint32_t set = 0; set <= sets; set++) {
        for (uint32_t way = 0; way <= ways; way++) {
            SCB_DCISW = set << line_shift | way << SCB_DCISW_WAY_Pos;
        }
    }
    cortexm_dsb();
    SCB_CCR |= SCB_CCR_DC;
    cortexm_dsb();
    cortexm_isb();
}

static void uart_init(void)
{
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIODEN;
    RCC_APB1ENR |= RCC_APB1ENR_USART3EN;
    /* PD8 (TX), PD9 (RX): alternate function 7. */
    GPIOD_MODER = (GPIOD_MODER & ~(0x3u << GPIOD_MODER_MODER8_Pos | 0x3u << GPIOD_MODER_MODER9_Pos)) |
                  GPIO_MODE_ALTERNATE << GPIOD_MODER_MODER8_Pos |
                  GPIO_MODE_ALTERNATE << GPIOD_MODER_MODER9_Pos;
    GPIOD_AFRH = (GPIOD_AFRH & ~(0xFu << GPIOD_AFRH_AFRH8_Pos | 0xFu << GPIOD_AFRH_AFRH9_Pos)) |
                 GPIO_AF7_USART3 << GPIOD_AFRH_AFRH8_Pos | GPIO_AF7_USART3 << GPIOD_AFRH_AFRH9_Pos;
    USART3_BRR = (APB1_HZ + HIL_BAUD / 2u) / HIL_BAUD; /* oversampling by 16 */
    USART3_CR1 = USART3_CR1_UE | USART3_CR1_TE | USART3_CR1_RE;
}

void hal_init(void)
{
    clock_init();
    icache_enable();
    dcache_enable();
    uart_init();
    cortexm_cycle_counter_start();
}

int hal_uart_getc(void)
{
    uint32_t status = USART3_ISR;
    if (status & USART3_ISR_ORE) {
        USART3_ICR = USART3_ICR_ORECF; /* the link's CRC will reject the damaged frame */
    }
    if (!(status & USART3_ISR_RXNE)) {
        return -1;
    }
    return (int)(USART3_RDR & 0xFFu);
}

void hal_uart_write(const uint8_t *data, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        while (!(USART3_ISR & USART3_ISR_TXE)) {
        }
        USART3_TDR = data[i];
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
