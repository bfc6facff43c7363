/* nRF52840 registers used by hal_nrf52840.c, named after the vendor's SVD (nrf52840.svd) so that
 * tests/unit/test_svd_registers.py can check each one:
 *   <PERIPHERAL>_BASE                   peripheral base address
 *   <PERIPHERAL>_<REGISTER>             the register (cluster registers: <CLUSTER>_<REGISTER>)
 *   <PERIPHERAL>_<REGISTER>_<FIELD>_Pos / _Msk    a field's position and mask
 *   <PERIPHERAL>_<REGISTER>_<FIELD>_<VALUE>       a field value (the SVD's enumerated value name),
 *                                                  already shifted into place */
#ifndef NRF52840_REGS_H
#define NRF52840_REGS_H

#include "../cortexm/cortexm.h"

#define CLOCK_BASE 0x40000000u
#define CLOCK_TASKS_HFCLKSTART REG32(CLOCK_BASE + 0x000u)
#define CLOCK_EVENTS_HFCLKSTARTED REG32(CLOCK_BASE + 0x100u)

/* UART0: the non-DMA register interface of the UARTE0 instance (same base address). */
#define UART0_BASE 0x40002000u
#define UART0_TASKS_STARTRX REG32(UART0_BASE + 0x000u)
#define UART0_TASKS_STARTTX REG32(UART0_BASE + 0x008u)
#define UART0_EVENTS_RXDRDY REG32(UART0_BASE + 0x108u)
#define UART0_EVENTS_TXDRDY REG32(UART0_BASE + 0x11Cu)
#define UART0_EVENTS_ERROR REG32(UART0_BASE + 0x124u)
#define UART0_ERRORSRC REG32(UART0_BASE + 0x480u)
#define UART0_ENABLE REG32(UART0_BASE + 0x500u)
#define UART0_PSEL_TXD REG32(UART0_BASE + 0x50Cu)
#define UART0_PSEL_RXD REG32(UART0_BASE + 0x514u)
#define UART0_RXD REG32(UART0_BASE + 0x518u)
#define UART0_TXD REG32(UART0_BASE + 0x51Cu)
#define UART0_BAUDRATE REG32(UART0_BASE + 0x524u)
#define UART0_CONFIG REG32(UART0_BASE + 0x56Cu)
#define UART0_ENABLE_ENABLE_Enabled (4u << 0)
#define UART0_PSEL_TXD_PIN_Pos 0u
#define UART0_PSEL_TXD_PORT_Pos 5u
#define UART0_PSEL_RXD_PIN_Pos 0u
#define UART0_PSEL_RXD_PORT_Pos 5u
#define UART0_BAUDRATE_BAUDRATE_Baud115200 0x01D7E000u
#define UART0_BAUDRATE_BAUDRATE_Baud1M 0x10000000u
#define UART0_RXD_RXD_Msk (0xFFu << 0)

#define P1_BASE 0x50000300u
#define P1_OUTSET REG32(P1_BASE + 0x508u)
#define P1_DIRSET REG32(P1_BASE + 0x518u)
#define P1_OUTSET_PIN3 (1u << 3)
#define P1_DIRSET_PIN3 (1u << 3)

#endif
