/* QEMU TCG plugin: exact guest instruction counts per firmware region.
 *
 * The firmware (src/metrics/metrics.c) marks region boundaries by storing one byte into its array
 * `metrics_plugin_marks`: slot `id` at a region's begin, slot `regions + id` at its end, always
 * from the function `metrics_plugin_mark`. This plugin counts every executed guest instruction
 * (inline add, no helper call) and watches stores only of the instructions inside that function,
 * so measuring costs nothing elsewhere. The region is decoded from the store's address: QEMU 7.2's
 * plugin API shows neither register nor stored values.
 *
 * Arguments (all required, addresses in hex or decimal):
 *   out=PATH       one line per region end is appended: "<id> <instructions>\n"
 *   marks=ADDR     address of metrics_plugin_marks
 *   regions=N      number of region ids (the array has 2*N bytes)
 *   mark_lo=ADDR, mark_hi=ADDR   code range of metrics_plugin_mark
 *
 * Single vCPU (all our Cortex-M machines): no locking. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu_plugin_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_REGIONS 1024

static uint64_t executed; /* guest instructions since QEMU started */
static uint64_t region_start[MAX_REGIONS];
static int region_open[MAX_REGIONS];
static uint64_t marks_addr, mark_lo, mark_hi;
static unsigned regions;
static int out_fd = -1;

static void on_mark(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
    (void)vcpu;
    (void)udata;
    if (!qemu_plugin_mem_is_store(info) || vaddr < marks_addr || vaddr >= marks_addr + 2u * regions) {
        return;
    }
    unsigned slot = (unsigned)(vaddr - marks_addr);
    if (slot < regions) {
        region_start[slot] = executed;
        region_open[slot] = 1;
        return;
    }
    unsigned id = slot - regions;
    if (!region_open[id]) {
        return; /* an end without a begin (e.g. after a reset mid-region) */
    }
    region_open[id] = 0;
    char line[48];
    int length = snprintf(line, sizeof line, "%u %llu\n", id,
                          (unsigned long long)(executed - region_start[id]));
    if (write(out_fd, line, (size_t)length) != length) {
        qemu_plugin_outs("insn_regions: cannot write the output file\n");
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t count = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < count; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        /* Per instruction, not per block: a block left early (fault, I/O replay) is not overcounted. */
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        if (pc >= mark_lo && pc < mark_hi) {
            qemu_plugin_register_vcpu_mem_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_W,
                                             NULL);
        }
    }
}

static void on_qemu_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    if (out_fd >= 0) {
        close(out_fd);
    }
}

static int parse_argument(const char *arg, const char **out_path)
{
    const char *value = strchr(arg, '=');
    if (!value) {
        return -1;
    }
    size_t key_length = (size_t)(value - arg);
    value++;
    uint64_t number = strtoull(value, NULL, 0);
    if (key_length == 3 && !strncmp(arg, "out", 3)) {
        *out_path = value;
    } else if (key_length == 5 && !strncmp(arg, "marks", 5)) {
        marks_addr = number;
    } else if (key_length == 7 && !strncmp(arg, "regions", 7)) {
        regions = (unsigned)number;
    } else if (key_length == 7 && !strncmp(arg, "mark_lo", 7)) {
        mark_lo = number & ~1ull; /* Thumb function symbols have bit 0 set */
    } else if (key_length == 7 && !strncmp(arg, "mark_hi", 7)) {
        mark_hi = number & ~1ull;
    } else {
        return -1;
    }
    return 0;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                           char **argv)
{
    (void)info;
    const char *out_path = NULL;
    for (int i = 0; i < argc; i++) {
        if (parse_argument(argv[i], &out_path) != 0) {
            fprintf(stderr, "insn_regions: unknown argument %s\n", argv[i]);
            return -1;
        }
    }
    if (!out_path || !marks_addr || !regions || regions > MAX_REGIONS || mark_hi <= mark_lo) {
        fprintf(stderr, "insn_regions: needs out=, marks=, regions=(1..%d), mark_lo=, mark_hi=\n",
                MAX_REGIONS);
        return -1;
    }
    out_fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) {
        fprintf(stderr, "insn_regions: cannot open %s\n", out_path);
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
    return 0;
}
