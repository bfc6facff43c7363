"""MLPerf Tiny: the benchmark API's text protocol on the host (driving any MLPerf Tiny firmware
against tflite-micro), and the harness firmware's MLPerf Tiny responder build (docs/mlperf_tiny.md)."""
