/* STM32F746 registers used by hal_stm32f7.c, from RM0385 (STM32F75xxx/74xxx reference manual) and
 * named after ST's SVD (STM32F7x6.svd) so that tests/unit/test_svd_registers.py can check each one:
 *   <PERIPHERAL>_BASE                   peripheral base address
 *   <PERIPHERAL>_<REGISTER>             the register
 *   <PERIPHERAL>_<REGISTER>_<FIELD>     a one-bit field
 *   <PERIPHERAL>_<REGISTER>_<FIELD>_Pos / _Msk    a field's position and mask
 *   <PERIPHERAL>_<REGISTER>_<FIELD>_<VALUE>       a field value, already shifted into place
 * Cortex-M7 core registers (SCB cache maintenance) are not in vendor SVDs: the test checks them
 * against the ARMv7-M architecture's addresses. */
#ifndef STM32F7_REGS_H
#define STM32F7_REGS_H

#include "../cortexm/cortexm.h"

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
#define RCC_PLLCFGR_PLLM_Pos 0u
#define RCC_PLLCFGR_PLLN_Pos 6u
#define RCC_PLLCFGR_PLLP_Pos 16u
#define RCC_PLLCFGR_PLLSRC (1u << 22)
#define RCC_PLLCFGR_PLLQ_Pos 24u
#define RCC_CFGR_SW_Pos 0u
#define RCC_CFGR_SW_PLL (0x2u << RCC_CFGR_SW_Pos)
#define RCC_CFGR_SWS_Pos 2u
#define RCC_CFGR_SWS_Msk (0x3u << RCC_CFGR_SWS_Pos)
#define RCC_CFGR_SWS_PLL (0x2u << RCC_CFGR_SWS_Pos)
#define RCC_CFGR_PPRE1_Pos 10u
#define RCC_CFGR_PPRE1_DIV4 (0x5u << RCC_CFGR_PPRE1_Pos)
#define RCC_CFGR_PPRE2_Pos 13u
#define RCC_CFGR_PPRE2_DIV2 (0x4u << RCC_CFGR_PPRE2_Pos)
#define RCC_AHB1ENR_GPIODEN (1u << 3)
#define RCC_APB1ENR_USART3EN (1u << 18)
#define RCC_APB1ENR_PWREN (1u << 28)

#define PWR_BASE 0x40007000u
#define PWR_CR1 REG32(PWR_BASE + 0x00u)
#define PWR_CSR1 REG32(PWR_BASE + 0x04u)
#define PWR_CR1_VOS_Pos 14u
#define PWR_CR1_VOS_SCALE1 (0x3u << PWR_CR1_VOS_Pos)
#define PWR_CR1_ODEN (1u << 16)
#define PWR_CR1_ODSWEN (1u << 17)
#define PWR_CSR1_ODRDY (1u << 16)
#define PWR_CSR1_ODSWRDY (1u << 17)

#define FLASH_BASE 0x40023C00u
#define FLASH_ACR REG32(FLASH_BASE + 0x00u)
#define FLASH_ACR_LATENCY_Pos 0u
#define FLASH_ACR_LATENCY_Msk (0xFu << FLASH_ACR_LATENCY_Pos)
#define FLASH_ACR_LATENCY_7WS (0x7u << FLASH_ACR_LATENCY_Pos)
#define FLASH_ACR_PRFTEN (1u << 8)
#define FLASH_ACR_ARTEN (1u << 9)

#define GPIOD_BASE 0x40020C00u
#define GPIOD_MODER REG32(GPIOD_BASE + 0x00u)
#define GPIOD_AFRH REG32(GPIOD_BASE + 0x24u)
#define GPIOD_MODER_MODER8_Pos 16u
#define GPIOD_MODER_MODER9_Pos 18u
#define GPIOD_AFRH_AFRH8_Pos 0u
#define GPIOD_AFRH_AFRH9_Pos 4u

#define USART3_BASE 0x40004800u
#define USART3_CR1 REG32(USART3_BASE + 0x00u)
#define USART3_BRR REG32(USART3_BASE + 0x0Cu)
#define USART3_ISR REG32(USART3_BASE + 0x1Cu)
#define USART3_ICR REG32(USART3_BASE + 0x20u)
#define USART3_RDR REG32(USART3_BASE + 0x24u)
#define USART3_TDR REG32(USART3_BASE + 0x28u)
#define USART3_CR1_UE (1u << 0)
#define USART3_CR1_RE (1u << 2)
#define USART3_CR1_TE (1u << 3)
#define USART3_ISR_ORE (1u << 3)
#define USART3_ISR_RXNE (1u << 5)
#define USART3_ISR_TXE (1u << 7)
#define USART3_ICR_ORECF (1u << 3)

/* Cortex-M7 cache control (ARMv7-M architecture, not in the vendor SVD). */
#define SCB_CCR REG32(0xE000ED14u)
#define SCB_CCR_DC (1u << 16)
#define SCB_CCR_IC (1u << 17)
#define SCB_CCSIDR REG32(0xE000ED80u)
#define SCB_CSSELR REG32(0xE000ED84u)
#define SCB_ICIALLU REG32(0xE000EF50u)
#define SCB_DCISW REG32(0xE000EF60u)
#define SCB_CCSIDR_NUMSETS_Pos 13u
#define SCB_CCSIDR_NUMSETS_Msk (0x7FFFu << SCB_CCSIDR_NUMSETS_Pos)
#define SCB_CCSIDR_ASSOCIATIVITY_Pos 3u
#define SCB_CCSIDR_ASSOCIATIVITY_Msk (0x3FFu << SCB_CCSIDR_ASSOCIATIVITY_Pos)
#define SCB_CCSIDR_LINESIZE_Msk (0x7u << 0)
#define SCB_DCISW_WAY_Pos 30u /* Cortex-M7: 4 ways */

#endif
