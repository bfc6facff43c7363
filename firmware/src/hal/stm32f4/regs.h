/* STM32F405 registers used by hal_stm32f4.c, from RM0090 and named after ST's SVD so that
 * tests/unit/test_svd_registers.py can check each one (scheme: see ../stm32f7/regs.h). */
#ifndef STM32F4_REGS_H
#define STM32F4_REGS_H

#include "../cortexm/cortexm.h"

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
#define GPIOA_MODER_MODER9_Pos 18u
#define GPIOA_MODER_MODER10_Pos 20u
#define GPIOA_AFRH_AFRH9_Pos 4u
#define GPIOA_AFRH_AFRH10_Pos 8u

#define USART1_BASE 0x40011000u
#define USART1_SR REG32(USART1_BASE + 0x00u)
#define USART1_DR REG32(USART1_BASE + 0x04u)
#define USART1_BRR REG32(USART1_BASE + 0x08u)
#define USART1_CR1 REG32(USART1_BASE + 0x0Cu)
#define USART1_SR_RXNE (1u << 5)
#define USART1_SR_TXE (1u << 7)
#define USART1_CR1_RE (1u << 2)
#define USART1_CR1_TE (1u << 3)
#define USART1_CR1_RXNEIE (1u << 5)
#define USART1_CR1_UE (1u << 13)

#define TIM2_BASE 0x40000000u
#define TIM2_CR1 REG32(TIM2_BASE + 0x00u)
#define TIM2_EGR REG32(TIM2_BASE + 0x14u)
#define TIM2_CNT REG32(TIM2_BASE + 0x24u)
#define TIM2_PSC REG32(TIM2_BASE + 0x28u)
#define TIM2_ARR REG32(TIM2_BASE + 0x2Cu)
#define TIM2_CR1_CEN (1u << 0)
#define TIM2_EGR_UG (1u << 0)

#endif
