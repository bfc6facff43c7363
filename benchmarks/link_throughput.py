"""Link throughput on an emulated board: protocol payload rate next to the raw byte rate.

    python benchmarks/link_throughput.py [--board nucleo_f746] [--kib 64] [--json]

Raw: bytes with no frame in them, sent host-to-device; the firmware's resynchronisation counts
each as garbage, so LINK_STATS tells when all have arrived. Protocol: 4 KB DISCARD requests
(chunked and acknowledged frames, plus the reply). Host-to-device is the slow direction under
QEMU, so it is the one that matters. Wall-clock figures: expect noise between runs.
"""

from __future__ import annotations

import argparse
import json
import time

from harness.dut import Dut

PAYLOAD = 4096


def raw_rate(dut: Dut, total: int) -> float:
    start_count = dut.link_stats()["garbage_bytes"]
    start = time.perf_counter()
    dut.link.send_raw(b"\x00" * total)
    while dut.link_stats()["garbage_bytes"] - start_count < total:
        pass
    return total / (time.perf_counter() - start)


def protocol_rate(dut: Dut, total: int) -> tuple[float, float]:
    counters = dut.link.counters
    sent, received = counters.bytes_sent, counters.bytes_received
    start = time.perf_counter()
    for _ in range(total // PAYLOAD):
        dut.discard(bytes(PAYLOAD))
    elapsed = time.perf_counter() - start
    wire = counters.bytes_sent - sent + counters.bytes_received - received
    payload = total // PAYLOAD * PAYLOAD
    return payload / elapsed, payload / wire


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="nucleo_f746")
    parser.add_argument("--kib", type=int, default=16, help="KiB to send per measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with Dut.open(args.board, "qemu") as dut:
        raw = raw_rate(dut, args.kib * 1024)
        payload, efficiency = protocol_rate(dut, args.kib * 1024)
    result = {
        "board": args.board,
        "raw_bytes_per_s": round(raw),
        "payload_bytes_per_s": round(payload),
        "throughput_ratio": round(payload / raw, 3),
        "wire_efficiency_4k": round(efficiency, 4),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"board {args.board} (QEMU), host to device, {args.kib} KiB each:")
    print(f"  raw bytes          {raw / 1024:8.1f} KiB/s")
    print(f"  protocol payload   {payload / 1024:8.1f} KiB/s  ({payload / raw:.1%} of raw)")
    print(f"  wire efficiency    {efficiency:.4f}  (payload bytes / all bytes both ways, 4 KB requests)")


if __name__ == "__main__":
    main()
