// A non-Python control stack asking `groot serve` for action chunks, in Node.js.
//
//   groot serve -e so101 -p sinusoid --port 5555        # the policy side (any backend)
//   cd examples/wire_client_node && npm install && node client.mjs --port 5555
//
// The wire is Isaac-GR00T's N1.6 protocol (docs/remote.md): ZeroMQ REQ/REP, one msgpack map
// per request, {endpoint, data, api_token}; every numpy array travels as
// {"__ndarray_class__": true, "as_npy": <the bytes of a .npy file>}. get_action takes
// {observation, options} with the observation nested and batched
// ({state: {key: (B,T,D) float32}, video: {cam: (B,T,H,W,3) uint8}, language: {key: [[text]]}})
// and answers [action, info], action = {key: (B, horizon, D)}.
//
// It sends ping, get_modality_config and get_action with a synthetic observation (zeros) and
// prints one JSON line: the modality keys and the shape of every action group. The state and
// image sizes come from groot-sdk's `groot_sdk.layout` endpoint (an Isaac-GR00T server lacks
// it: there, pass them yourself). What a real stack does with the chunk (placing step k at
// t_obs + k / policy_hz, interpolating, clamping to the joint limits, a watchdog) is its own
// business here: the SDK's Controller does it only for Python hosts (docs/embedding.md).

import { decode, encode } from "@msgpack/msgpack";
import { Request } from "zeromq";

function parseArgs(argv) {
  const args = { host: "127.0.0.1", port: 5555, token: null, task: "pick the cube", timeoutMs: 5000 };
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`option ${key} needs a value`);
    if (key === "--host") args.host = value;
    else if (key === "--port") args.port = Number(value);
    else if (key === "--api-token") args.token = value;
    else if (key === "--task") args.task = value;
    else if (key === "--timeout-ms") args.timeoutMs = Number(value);
    else throw new Error(`unknown option ${key} (--host, --port, --api-token, --task, --timeout-ms)`);
  }
  if (!Number.isInteger(args.port) || args.port <= 0 || args.port > 65535) {
    throw new Error(`--port must be 1..65535, got ${args.port}`);
  }
  return args;
}

// ---- .npy (format version 1.0, little-endian, C order) -------------------------------------
const DTYPES = {
  "<f4": Float32Array,
  "<f8": Float64Array,
  "|u1": Uint8Array,
  "<i4": Int32Array,
  "<i8": BigInt64Array,
};

function npyBytes(typed, descr, shape) {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = 10 + header.length + 1; // magic(6) + version(2) + length(2) + header + \n
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + header.length + typed.byteLength);
  out.set([0x93, ...Buffer.from("NUMPY"), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, "latin1"), 10);
  out.set(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength), 10 + header.length);
  return out;
}

function ndarray(typed, descr, shape) {
  return { __ndarray_class__: true, as_npy: npyBytes(typed, descr, shape) };
}

function parseNpy(bytes) {
  if (bytes[0] !== 0x93 || Buffer.from(bytes.subarray(1, 6)).toString("latin1") !== "NUMPY") {
    throw new Error("not a .npy payload");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString("latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error("Fortran-order arrays are not handled");
  const Typed = DTYPES[descr];
  if (!Typed || shapeText === undefined) throw new Error(`unsupported .npy header ${header.trim()}`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const body = new Uint8Array(bytes.subarray(start + headerLen)); // a copy, aligned (Buffer.slice is a view)
  return { dtype: descr, shape, data: new Typed(body.buffer, body.byteOffset, body.byteLength / Typed.BYTES_PER_ELEMENT) };
}

function revive(value) {
  if (value instanceof Uint8Array || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(revive);
  if (value.__ndarray_class__ === true) return parseNpy(value.as_npy);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
}

// ---- the REQ socket --------------------------------------------------------------------------
class GrootClient {
  constructor({ host, port, token, timeoutMs }) {
    this.token = token;
    this.socket = new Request({ receiveTimeout: timeoutMs, sendTimeout: timeoutMs, linger: 0 });
    this.socket.connect(`tcp://${host}:${port}`);
  }

  async call(endpoint, data) {
    const request = { endpoint };
    if (data !== undefined) request.data = data;
    if (this.token !== null) request.api_token = this.token;
    await this.socket.send(encode(request));
    const [reply] = await this.socket.receive(); // rejects after receiveTimeout
    const decoded = revive(decode(reply));
    if (decoded && !Array.isArray(decoded) && typeof decoded === "object" && "error" in decoded) {
      throw new Error(`${endpoint}: server error: ${decoded.error}`);
    }
    return decoded;
  }

  close() {
    this.socket.close();
  }
}

function syntheticObservation(layout, task) {
  const state = {};
  for (const { key, dim } of layout.state) state[key] = ndarray(new Float32Array(dim), "<f4", [1, 1, dim]);
  const video = {};
  for (const { name, height, width } of layout.video) {
    video[name] = ndarray(new Uint8Array(height * width * 3), "|u1", [1, 1, height, width, 3]);
  }
  return { video, state, language: { [layout.language_key]: [[task]] } };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const client = new GrootClient(args);
  try {
    const ping = await client.call("ping");
    const config = await client.call("get_modality_config");
    const modalityKeys = Object.fromEntries(
      Object.entries(config).map(([name, c]) => [name, c.as_json.modality_keys]),
    );
    const layout = await client.call("groot_sdk.layout"); // dims: a groot-sdk extension
    const observation = syntheticObservation(layout, args.task);
    const [action] = await client.call("get_action", { observation, options: null });
    const shapes = Object.fromEntries(Object.entries(action).map(([k, a]) => [k, a.shape]));
    const first = Object.fromEntries(
      Object.entries(action).map(([k, a]) => [k, Array.from(a.data.subarray(0, a.shape.at(-1)), Number)]),
    );
    console.log(JSON.stringify({ ping: ping.status, modality_keys: modalityKeys, action_shapes: shapes, first_step: first }));
  } finally {
    client.close();
  }
}

main().catch((err) => {
  console.error(`client.mjs: ${err.message}`);
  process.exit(1);
});
