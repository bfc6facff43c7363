/* MLPerf Tiny responder (mlperf.c): answers the MLPerf Tiny benchmark API's text protocol with
 * the engine on the model in the flash slot. Built with HIL_MLPERF_TINY=1 only. */
#ifndef HIL_MLPERF_H
#define HIL_MLPERF_H

/* Loads the slot's model, prints m-init-done and m-ready, then answers commands forever. */
void mlperf_main(void) __attribute__((noreturn));

#endif
