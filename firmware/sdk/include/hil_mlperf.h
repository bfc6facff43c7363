/* The MLPerf Tiny benchmark API on the device SDK: a firmware whose model sits behind a
 * hil_model_runner_t (hil_runner.h) answers the text protocol of mlcommons/tiny's benchmark/api,
 * the one the EEMBC / MLPerf Tiny runner and `hil run --protocol mlperf-tiny` drive
 * (docs/mlperf_tiny.md), over the porting layer's UART instead of the harness link.
 *
 *     static uint8_t db[490];                          // the input tensor's bytes, at least
 *     hil_mlperf_config_t config = {"my-kws", "kws01", db, sizeof db, NULL};
 *     hil_mlperf_run(&runner, &config);                // m-init-done, m-ready, then commands
 *
 * Commands end with '%': name, profile, timestamp, help, db load N, db HH.., db print,
 * infer N [W] and results; every reply ends with m-ready, errors are e-[...] lines. The clock of
 * m-lap-us-N is hil_port_cycles() / hil_port_cycles_hz() (0 when the port has no counter). */
#ifndef HIL_MLPERF_H
#define HIL_MLPERF_H

#include <stdint.h>

#include "hil_runner.h"

typedef struct {
    const char *name;          /* m-name-dut-[name] */
    const char *model_version; /* m-model-[...]: kws01, vww01, ad01, ic01; for vww01 and ic01 the
                                  runner sends uint8 pixels, which become q = p - 128 */
    uint8_t *db;               /* the `db` buffer: at least the input tensor's bytes */
    uint32_t db_capacity;
    const char *problem; /* non-NULL: why there is no model (said on db, infer, results) */
} hil_mlperf_config_t;

/* Keeps `runner` (NULL: no model) and `config` (both must outlive the firmware), prints
 * m-init-done and m-ready. */
void hil_mlperf_begin(const hil_model_runner_t *runner, const hil_mlperf_config_t *config);

/* Reads what the UART holds and answers each complete command; false when nothing arrived. For
 * a firmware with a main loop of its own. */
int hil_mlperf_poll(void);

/* hil_mlperf_begin, then hil_mlperf_poll forever, calling hil_port_idle() while nothing arrives. */
void hil_mlperf_run(const hil_model_runner_t *runner, const hil_mlperf_config_t *config)
    __attribute__((noreturn));

#endif
