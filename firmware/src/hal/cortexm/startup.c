/* Reset and exception entry for every Cortex-M board: vector table, C runtime set-up, stack
 * painting (for the stack high-water mark) and the hard-fault report. */
#include <stdint.h>
#include <string.h>

#include "../../app/app.h"
#include "../../link/link.h"
#include "../hal.h"
#include "cortexm.h"

#define STACK_PAINT 0xC5C5C5C5u
#define FAULT_EXIT_CODE 3

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;

void Reset_Handler(void) __attribute__((noreturn));
void HardFault_Handler(void);
void Default_Handler(void);

/* Paints the free stack from the bottom of the stack region up to the current stack pointer. */
static void paint_stack(void)
{
    uint32_t *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *word = &_sstack; word < sp - 16; word++) {
        *word = STACK_PAINT;
    }
}

uint32_t hal_stack_high_water(void)
{
    const uint32_t *word = &_sstack;
    while (word < &_estack && *word == STACK_PAINT) {
        word++;
    }
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)word);
}

void cortexm_wakeup_irq_enable(uint32_t irq)
{
    NVIC_ISER(irq / 32u) = 1u << (irq % 32u);
}

void cortexm_wakeup_systick_start(uint32_t reload)
{
    SYST_RVR = reload;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* enable, exception on wrap (never taken: PRIMASK), core clock */
}

void cortexm_wait_for_wakeup(void)
{
    __asm volatile("wfi" ::: "memory");
    /* No handler will take what is pending: clear it so the next WFI sleeps. */
    for (uint32_t n = 0; n < 4u; n++) {
        NVIC_ICPR(n) = 0xFFFFFFFFu;
    }
    SCB_ICSR = SCB_ICSR_PENDSTCLR;
}

void Reset_Handler(void)
{
    __asm volatile("cpsid i" ::: "memory"); /* the firmware polls: no interrupt handler runs */
    memcpy(&_sdata, &_sidata, (size_t)((uintptr_t)&_edata - (uintptr_t)&_sdata));
    memset(&_sbss, 0, (size_t)((uintptr_t)&_ebss - (uintptr_t)&_sbss));
    paint_stack();
#if defined(__ARM_FP)
    SCB_CPACR |= 0xFu << 20; /* CP10 and CP11 full access: the FPU */
    cortexm_dsb();
    cortexm_isb();
#endif
    hal_init();
    app_main();
    hal_halt(0);
}

void Default_Handler(void)
{
    __builtin_trap(); /* an unexpected interrupt is a bug: report it as a fault */
}

/* Called with the exception stack frame: r0-r3, r12, lr, pc, xpsr. */
void cortexm_fault_report(const uint32_t *frame)
{
    link_fault_payload_t report = {
        .r0 = frame[0],
        .r1 = frame[1],
        .r2 = frame[2],
        .r3 = frame[3],
        .r12 = frame[4],
        .lr = frame[5],
        .pc = frame[6],
        .xpsr = frame[7],
        .cfsr = SCB_CFSR,
        .hfsr = SCB_HFSR,
        .mmfar = SCB_MMFAR,
        .bfar = SCB_BFAR,
    };
    link_send(LINK_MSG_FAULT, 0, &report, sizeof report);
    hal_halt(FAULT_EXIT_CODE);
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm volatile("tst lr, #4      \n" /* which stack held the frame? */
                   "ite eq          \n"
                   "mrseq r0, msp   \n"
                   "mrsne r0, psp   \n"
                   "b cortexm_fault_report \n");
}

void hal_reset(void)
{
    cortexm_dsb();
    SCB_AIRCR = SCB_AIRCR_SYSRESETREQ;
    cortexm_dsb();
    for (;;) {
    }
}

/* A real board (or Renode, which has no semihosting exit here) waits for a reset or a debugger.
 * Weak: the HALs that run under QEMU replace it with an exit by semihosting. */
__attribute__((weak)) void hal_halt(int code)
{
    (void)code;
    for (;;) {
    }
}

void cortexm_semihosting_exit(int code)
{
    /* Linger half a second first: an emulator that exits while the host still has requests in
     * flight resets the TCP connection, and the host would lose the frames just sent. */
    uint32_t start = hal_millis();
    while ((uint32_t)(hal_millis() - start) < 500u) {
        hal_idle();
    }
    /* SYS_EXIT_EXTENDED (0x20) with ADP_Stopped_ApplicationExit and the exit code. */
    static volatile uint32_t block[2];
    block[0] = 0x20026u;
    block[1] = (uint32_t)code;
    register uint32_t r0 __asm("r0") = 0x20u;
    register volatile uint32_t *r1 __asm("r1") = block;
    __asm volatile("bkpt 0xAB" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}

void cortexm_cycle_counter_start(void)
{
    DEMCR |= DEMCR_TRCENA;
    DWT_LAR = 0xC5ACCE55u; /* unlock (Cortex-M7) */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u;
}

typedef void (*vector_t)(void);

#define SYSTEM_VECTORS 16
#define IRQ_VECTORS 112 /* enough for every supported part (the F746 has 98) */

__attribute__((section(".isr_vector"), used)) const vector_t vector_table[SYSTEM_VECTORS + IRQ_VECTORS] = {
    [0] = (vector_t)(uintptr_t)&_estack,
    [1] = Reset_Handler,
    [2] = Default_Handler,   /* NMI */
    [3] = HardFault_Handler, /* MemManage, BusFault and UsageFault escalate here */
    [4 ... 6] = Default_Handler,
    /* 7-10 reserved */
    [11 ... 12] = Default_Handler, /* SVCall, DebugMonitor */
    /* 13 reserved */
    [14 ... SYSTEM_VECTORS + IRQ_VECTORS - 1] = Default_Handler,
};
