#!/usr/bin/env node
/*
 * OTLP test receiver for the ragtel test suite.
 *
 * Runs @elastic/mockotlpserver's OTLP/gRPC and OTLP/HTTP services on
 * 127.0.0.1 (never the UI service) and writes one JSON object per line to
 * stdout:
 *
 *   {"type":"ready","grpc_port":N,"http_port":N}
 *   {"type":"traces"|"logs"|"metrics","transport":"grpc"|"http",
 *    "headers":{...}|null,"request":{...}}
 *   {"type":"error","message":"..."}
 *
 * "request" is the Export*ServiceRequest in OTLP/JSON shape: camelCase keys,
 * trace/span ids as lowercase hex, 64-bit integers as decimal strings, enums
 * as numbers, bytesValue as base64, non-finite doubles as "NaN"/"Infinity".
 * OTLP/HTTP JSON bodies are passed through as sent. "headers" has lowercase
 * names (gRPC: the call metadata). Library diagnostics go to stderr so stdout
 * stays machine-readable; set OTLP_RECEIVER_LOG_LEVEL=debug to see them all.
 *
 * Usage: node launch.js [--grpc-port N] [--http-port N] [--exit-on-stdin-close]
 * Ports default to $OTLP_RECEIVER_GRPC_PORT / $OTLP_RECEIVER_HTTP_PORT, then
 * 0 (the OS picks a free port; the ready line reports the real one).
 */

'use strict';

const diagnostics_channel = require('node:diagnostics_channel');
const path = require('node:path');
const util = require('node:util');

const {MockOtlpServer} = require('@elastic/mockotlpserver');

// Patch the exact grpc-js instance the library builds its server with.
const grpc = require(
    require.resolve('@grpc/grpc-js', {
        paths: [path.dirname(require.resolve('@elastic/mockotlpserver'))],
    })
);

const HOST = '127.0.0.1';
const LOG_LEVELS = {trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60};

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

// The library's own logger can only write to stdout; this duck-typed one
// keeps its messages on stderr. Its warnings mean a request was answered but
// its data dropped (e.g. an unknown URL path), so they are reported as errors
// too: otherwise a test would only see "no spans".
function createStderrLogger(levelName) {
    const minLevel = LOG_LEVELS[levelName] ?? LOG_LEVELS.warn;
    const log = {level: () => minLevel};
    for (const [name, level] of Object.entries(LOG_LEVELS)) {
        log[name] = (...args) => {
            const message = `mockotlpserver ${name}: ${util.format(...args)}`;
            if (level >= minLevel) {
                process.stderr.write(message + '\n');
            }
            if (level >= LOG_LEVELS.warn) {
                emit({type: 'error', message});
            }
        };
    }
    return log;
}

function parsePort(value, what) {
    const port = Number(value ?? 0);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new Error(`invalid ${what}: ${value}`);
    }
    return port;
}

function isLong(v) {
    return typeof v === 'object' && typeof v.low === 'number' && typeof v.high === 'number';
}

function longToString(v) {
    const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
    return (v.unsigned ? bits : BigInt.asIntN(64, bits)).toString();
}

/**
 * Converts the three shapes the library hands out (protobufjs message for
 * HTTP/protobuf, plain object with Buffer/Long for gRPC, parsed JSON for
 * HTTP/JSON) to one JSON-safe OTLP/JSON-like shape.
 */
function toOtlpJson(value, key) {
    if (value === null || value === undefined) {
        return value;
    }
    if (value instanceof Uint8Array) {
        // OTLP/JSON: ids are hex, every other bytes field is base64.
        return Buffer.from(value).toString(key === 'bytesValue' ? 'base64' : 'hex');
    }
    if (Array.isArray(value)) {
        return value.map((item) => toOtlpJson(item, key));
    }
    if (typeof value === 'object') {
        if (isLong(value)) {
            return longToString(value);
        }
        const out = {};
        for (const [k, v] of Object.entries(value)) {
            out[k] = toOtlpJson(v, k);
        }
        return out;
    }
    if (typeof value === 'number' && !Number.isFinite(value)) {
        return String(value);
    }
    return value;
}

function plainRequest(raw) {
    // Decoded protobufjs messages carry prototype defaults that would read as
    // set oneof members; toObject keeps only what was on the wire.
    const obj =
        typeof raw?.constructor?.toObject === 'function'
            ? raw.constructor.toObject(raw, {longs: String})
            : raw;
    return toOtlpJson(obj, '');
}

function httpHeaders(req) {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) {
        headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    return headers;
}

function grpcHeaders(call) {
    const headers = {};
    for (const [k, values] of Object.entries(call.metadata.toJSON())) {
        headers[k] = values
            .map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : String(v)))
            .join(', ');
    }
    return headers;
}

// The library publishes decoded data without the request it came from, so
// remember which request is being handled while it publishes synchronously:
// - gRPC: it publishes inside the Export handler, which we wrap.
// - HTTP: it publishes inside its own req 'end' listener; ours is attached
//   earlier (before the 'request' event) and so runs right before it.
let currentGrpcCall = null;
let currentHttpReq = null;

const originalAddService = grpc.Server.prototype.addService;
grpc.Server.prototype.addService = function addService(service, implementation) {
    const wrapped = {};
    for (const [name, fn] of Object.entries(implementation)) {
        wrapped[name] = function (call, callback) {
            currentGrpcCall = call;
            try {
                return fn.call(implementation, call, callback);
            } finally {
                currentGrpcCall = null;
            }
        };
    }
    return originalAddService.call(this, service, wrapped);
};

diagnostics_channel.subscribe('http.server.request.start', ({request}) => {
    request.on('end', () => {
        currentHttpReq = request;
        queueMicrotask(() => {
            if (currentHttpReq === request) {
                currentHttpReq = null;
            }
        });
    });
});

function onSignal(type) {
    return (raw) => {
        try {
            let transport = null;
            let headers = null;
            if (currentGrpcCall) {
                transport = 'grpc';
                headers = grpcHeaders(currentGrpcCall);
            } else if (currentHttpReq) {
                transport = 'http';
                headers = httpHeaders(currentHttpReq);
            }
            emit({type, transport, headers, request: plainRequest(raw)});
        } catch (err) {
            emit({type: 'error', message: `cannot report ${type} request: ${err.stack || err}`});
        }
    };
}

async function main() {
    const {values: args} = util.parseArgs({
        options: {
            'grpc-port': {type: 'string'},
            'http-port': {type: 'string'},
            'exit-on-stdin-close': {type: 'boolean', default: false},
        },
    });
    const grpcPort = parsePort(args['grpc-port'] ?? process.env.OTLP_RECEIVER_GRPC_PORT, 'gRPC port');
    const httpPort = parsePort(args['http-port'] ?? process.env.OTLP_RECEIVER_HTTP_PORT, 'HTTP port');

    const server = new MockOtlpServer({
        log: createStderrLogger(process.env.OTLP_RECEIVER_LOG_LEVEL || 'warn'),
        services: ['grpc', 'http'],
        grpcHostname: HOST,
        grpcPort,
        httpHostname: HOST,
        httpPort,
        onTrace: onSignal('traces'),
        onLogs: onSignal('logs'),
        onMetrics: onSignal('metrics'),
    });
    await server.start();

    // The library decodes HTTP bodies after it has already answered 200 and
    // without a try/catch (e.g. a gzip body throws), which would kill the
    // process. Report instead, so the test sees why data is missing.
    process.on('uncaughtException', (err) => {
        emit({type: 'error', message: `receiver error: ${err.stack || err}`});
    });

    let stopping = false;
    const shutdown = () => {
        if (stopping) {
            return;
        }
        stopping = true;
        setTimeout(() => process.exit(0), 2000).unref();
        server.close().finally(() => process.stdout.write('', () => process.exit(0)));
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
    process.stdout.on('error', shutdown); // reader went away (EPIPE)
    if (args['exit-on-stdin-close']) {
        // Lets the parent's death stop us even if it could not signal us.
        process.stdin.on('end', shutdown);
        process.stdin.on('close', shutdown);
        process.stdin.resume();
    }

    // URL.port is '' for a scheme's default port.
    emit({
        type: 'ready',
        grpc_port: Number(server.grpcUrl.port || 80),
        http_port: Number(server.httpUrl.port || 80),
    });
}

main().catch((err) => {
    process.stderr.write(`otlp receiver failed to start: ${err.stack || err}\n`);
    process.exit(1);
});
