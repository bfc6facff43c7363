/* Cortex-M system registers shared by every ARM board (ARMv7-M architecture reference manual). */
#ifndef CORTEXM_H
#define CORTEXM_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

#define SCB_CPACR REG32(0xE000ED88u)
#define SCB_AIRCR REG32(0xE000ED0Cu)
#define SCB_CFSR REG32(0xE000ED28u)
#define SCB_HFSR REG32(0xE000ED2Cu)
#define SCB_MMFAR REG32(0xE000ED34u)
#define SCB_BFAR REG32(0xE000ED38u)
#define SCB_AIRCR_SYSRESETREQ (0x05FAu << 16 | 1u << 2)

#define SCB_ICSR REG32(0xE000ED04u)
#define SCB_ICSR_PENDSTCLR (1u << 25)
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define NVIC_ISER(n) REG32(0xE000E100u + 4u * (n))
#define NVIC_ICPR(n) REG32(0xE000E280u + 4u * (n))

#define DWT_CTRL REG32(0xE0001000u)
#define DWT_CYCCNT REG32(0xE0001004u)
#define DWT_LAR REG32(0xE0001FB0u)
#define DEMCR REG32(0xE000EDFCu)
#define DEMCR_TRCENA (1u << 24)

static inline void cortexm_dsb(void)
{
    __asm volatile("dsb 0xF" ::: "memory");
}
static inline void cortexm_isb(void)
{
    __asm volatile("isb 0xF" ::: "memory");
}

/* hal.h's hal_reset (a system reset through the SCB), hal_halt and hal_stack_high_water are
 * implemented once for every Cortex-M board in startup.c. Its hal_halt waits for a reset; a HAL
 * that runs under QEMU defines its own, which exits by cortexm_semihosting_exit. */

/* ARM semihosting SYS_EXIT_EXTENDED: makes QEMU exit with `code` (emulators only: on a real
 * board without a debugger the BKPT itself faults). */
void cortexm_semihosting_exit(int code) __attribute__((noreturn));

/* Sleep-until-event for emulators. Interrupts stay masked (PRIMASK, set at reset) so no
 * handler ever runs and instruction counts stay exact; a pending interrupt still ends WFI.
 * Enable the UART's receive interrupt and a periodic one (SysTick, or a timer where QEMU's
 * SysTick does not wake the core) so the sleep is bounded. */
void cortexm_wakeup_irq_enable(uint32_t irq);
void cortexm_wakeup_systick_start(uint32_t reload); /* core clocks, at most 2^24 */
void cortexm_wait_for_wakeup(void);

/* Starts the DWT cycle counter (real Cortex-M3/M4/M7 cores). */
void cortexm_cycle_counter_start(void);

#endif
