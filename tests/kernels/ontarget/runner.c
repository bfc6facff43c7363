#include "runner.h"

static uint8_t arena[RUNNER_ARENA_SIZE] __attribute__((aligned(4)));
static uint32_t arena_top;

#ifdef __AVR__
void runner_init(void) { UCSR0B = (uint8_t)(1 << TXEN0); }
static void put_char(char c) {
    while (!(UCSR0A & (1 << UDRE0))) {
    }
    UDR0 = (uint8_t)c;
}
void runner_puts(const char *s) {
    while (*s) {
        put_char(*s++);
    }
}
void runner_done(void) {
    runner_puts("END\n");
    for (;;) {
    }
}
static void copy_from_flash(uint8_t *dst, const uint8_t *src, uint16_t n) { memcpy_P(dst, src, n); }
#else
/* ARM semihosting */
static int32_t semihost(int32_t op, const void *arg) {
    register int32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
static char line[512];
static uint32_t line_len;
void runner_init(void) { line_len = 0; }
static void flush_line(void) {
    line[line_len] = 0;
    semihost(0x04, line); /* SYS_WRITE0 */
    line_len = 0;
}
static void put_char(char c) {
    line[line_len++] = c;
    if (c == '\n' || line_len >= sizeof(line) - 1) {
        flush_line();
    }
}
void runner_puts(const char *s) {
    while (*s) {
        put_char(*s++);
    }
}
void runner_done(void) {
    runner_puts("END\n");
    semihost(0x18, (const void *)0x20026); /* SYS_EXIT, ADP_Stopped_ApplicationExit */
    for (;;) {
    }
}
static void copy_from_flash(uint8_t *dst, const uint8_t *src, uint16_t n) {
    uint16_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = src[i];
    }
}
#endif

void runner_reset(void) { arena_top = 0; }

void *runner_alloc(uint16_t n) {
    uint8_t *p;
    uint16_t i;
    arena_top = (arena_top + 3u) & ~(uint32_t)3u;
    if (arena_top + n > RUNNER_ARENA_SIZE) {
        runner_puts("ARENA OVERFLOW\n");
        runner_done();
    }
    p = &arena[arena_top];
    arena_top += n;
    for (i = 0; i < n; ++i) {
        p[i] = 0;
    }
    return p;
}

void *runner_take(const uint8_t *flash_src, uint16_t n) {
    uint8_t *p = (uint8_t *)runner_alloc(n);
    copy_from_flash(p, flash_src, n);
    return p;
}

static void put_hex_byte(uint8_t b) {
    static const char digits[] = "0123456789abcdef";
    char s[3];
    s[0] = digits[b >> 4];
    s[1] = digits[b & 15];
    s[2] = 0;
    runner_puts(s);
}

static void put_dec(int32_t v) {
    char s[12];
    int8_t i = 11;
    uint32_t u = v < 0 ? (uint32_t)(-(v + 1)) + 1u : (uint32_t)v;
    s[i] = 0;
    do {
        s[--i] = (char)('0' + (u % 10u));
        u /= 10u;
    } while (u != 0);
    if (v < 0) {
        s[--i] = '-';
    }
    runner_puts(&s[i]);
}

void runner_emit(uint16_t case_id, int32_t rc, const void *out, uint16_t n) {
    const uint8_t *b = (const uint8_t *)out;
    uint16_t i;
    runner_puts("R ");
    put_dec(case_id);
    runner_puts(" ");
    put_dec(rc);
    runner_puts(" ");
    for (i = 0; i < n; ++i) {
        put_hex_byte(b[i]);
    }
    runner_puts("\n");
}
