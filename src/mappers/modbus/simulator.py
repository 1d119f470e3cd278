"""A Modbus device for kedge's tests: Debian's python3-pymodbus (3.0) serving coils, discrete
inputs, holding and input registers over Modbus TCP, RTU framing over TCP, or RTU over a
pseudo-terminal (a serial line), with registers set and read by the test over stdin/stdout.

Usage: /usr/bin/python3 simulator.py --port 0 [--framer socket|rtu] [--pty] [--size 1000]

Prints one JSON line once serving: {"ready": true, "port": <tcp port>, "pty": "/dev/pts/N" | null}
Then takes one JSON command per line on stdin and answers each with one JSON line:
  {"id": 1, "op": "set", "table": "hr"|"ir"|"co"|"di", "address": 0, "values": [1, 2]}
  {"id": 2, "op": "get", "table": "hr", "address": 0, "count": 2}   -> {"id": 2, "values": [...]}
  {"id": 3, "op": "requests"}                                         -> {"id": 3, "requests": n}
EOF on stdin stops it.
"""

import argparse
import asyncio
import json
import logging
import os
import sys
import types

# pymodbus.server imports pyserial at module level, for the serial server only; Debian installs
# pymodbus without it. Stand-ins let the TCP server load; the serial line is a pty bridged below.
if "serial" not in sys.modules:
    serial = types.ModuleType("serial")
    serial.serialutil = types.SimpleNamespace(SerialException=Exception)
    sys.modules["serial"] = serial
if "serial_asyncio" not in sys.modules:
    serial_asyncio = types.ModuleType("serial_asyncio")
    serial_asyncio.create_serial_connection = None
    sys.modules["serial_asyncio"] = serial_asyncio

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext  # noqa: E402
from pymodbus.framer.rtu_framer import ModbusRtuFramer  # noqa: E402
from pymodbus.framer.socket_framer import ModbusSocketFramer  # noqa: E402
from pymodbus.server.async_io import ModbusTcpServer  # noqa: E402

TABLES = {"co": 1, "di": 2, "hr": 3, "ir": 4}


class Counting(ModbusSlaveContext):
    """Counts the requests it serves, so tests can tell a device was asked."""

    requests = 0

    def getValues(self, fc_as_hex, address, count=1):
        Counting.requests += 1
        return super().getValues(fc_as_hex, address, count)

    def setValues(self, fc_as_hex, address, values):
        Counting.requests += 1
        return super().setValues(fc_as_hex, address, values)


def answer(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def bridge(master_fd, port):
    """Copies bytes between the pty's master side and an RTU-framed TCP server: a serial line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()

    def from_pty():
        try:
            data = os.read(master_fd, 4096)
        except OSError:
            return
        writer.write(data)

    loop.add_reader(master_fd, from_pty)
    while True:
        data = await reader.read(4096)
        if not data:
            break
        os.write(master_fd, data)


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--framer", choices=["socket", "rtu"], default="socket")
    p.add_argument("--pty", action="store_true")
    p.add_argument("--size", type=int, default=1000)
    args = p.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    block = lambda: ModbusSequentialDataBlock(0, [0] * args.size)  # noqa: E731
    slave = Counting(di=block(), co=block(), hr=block(), ir=block(), zero_mode=True)
    context = ModbusServerContext(slaves=slave, single=True)
    framer = ModbusRtuFramer if (args.framer == "rtu" or args.pty) else ModbusSocketFramer
    server = ModbusTcpServer(context, framer=framer, address=("127.0.0.1", args.port), allow_reuse_address=True)
    serving = asyncio.create_task(server.serve_forever())
    await server.serving
    port = server.server.sockets[0].getsockname()[1]

    pty_path = None
    if args.pty:
        master, slave_fd = os.openpty()
        pty_path = os.ttyname(slave_fd)
        asyncio.create_task(bridge(master, port))

    answer({"ready": True, "port": port, "pty": pty_path})
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        try:
            cmd = json.loads(line)
            fx = TABLES.get(cmd.get("table"), 3)
            if cmd["op"] == "set":
                slave.setValues(fx, int(cmd["address"]), [int(v) for v in cmd["values"]])
                Counting.requests -= 1
                answer({"id": cmd.get("id"), "ok": True})
            elif cmd["op"] == "get":
                values = slave.getValues(fx, int(cmd["address"]), int(cmd.get("count", 1)))
                Counting.requests -= 1
                answer({"id": cmd.get("id"), "values": [int(v) for v in values]})
            elif cmd["op"] == "requests":
                answer({"id": cmd.get("id"), "requests": Counting.requests})
            else:
                answer({"id": cmd.get("id"), "error": "unknown op"})
        except Exception as exc:  # noqa: BLE001 - a bad command must not stop the device
            answer({"id": None, "error": str(exc)})
    serving.cancel()


if __name__ == "__main__":
    asyncio.run(main())
