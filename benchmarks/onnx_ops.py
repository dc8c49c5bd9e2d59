#!/usr/bin/python3
"""Op histogram of an ONNX file, read without the onnx package.

Debian has no python3-onnx, so this walks the protobuf wire format itself:
ModelProto.graph (field 7) -> GraphProto.node (field 1) -> NodeProto.op_type
(field 4) and .domain (field 7).  Nested subgraphs (If/Loop bodies) are not
entered: the graphs here have none.  Used on the models torch_baseline.py
exports and on the optimized models ONNX Runtime writes
(ort-bench --save-optimized), to see what its graph passes fused.
    benchmarks/onnx_ops.py MODEL.onnx [MODEL.onnx ...]
"""
import collections
import json
import sys


def _varint(buf, pos):
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf):
    """(field number, wire type, value) of one message; length-delimited
    values are memoryview slices, so large initializers are never copied."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError("unsupported protobuf wire type %d" % wire)
        yield field, wire, value


def op_histogram(path):
    """Counter of 'op_type' (or 'domain:op_type' outside the default domain)."""
    with open(path, "rb") as f:
        model = memoryview(f.read())
    counts = collections.Counter()
    for field, wire, graph in _fields(model):
        if field != 7 or wire != 2:
            continue
        for gfield, gwire, node in _fields(graph):
            if gfield != 1 or gwire != 2:
                continue
            op, domain = "", ""
            for nfield, nwire, value in _fields(node):
                if nfield == 4 and nwire == 2:
                    op = bytes(value).decode()
                elif nfield == 7 and nwire == 2:
                    domain = bytes(value).decode()
            counts[domain + ":" + op if domain and domain != "ai.onnx" else op] += 1
    return counts


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        counts = op_histogram(path)
        print(json.dumps({"model": path, "nodes": sum(counts.values()),
                          "ops": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}))


if __name__ == "__main__":
    main()
