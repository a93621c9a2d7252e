// The interface every benchmarked prefill implementation provides, and the backend names the
// command line accepts.

/** Backends in report order: our WebGPU kernels, llama.cpp on the CPU, the float32 TypeScript reference. */
export const BACKEND_NAMES = ["webgpu", "llamacpp", "reference"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** One model loaded by one backend. */
export interface PrefillBackend {
  readonly name: BackendName;
  /** Settings that affect speed, for the report (threads, KV cache type, adapter). */
  readonly settings: string;
  /** Milliseconds from an opened file to a model ready for its first forward pass. */
  readonly loadMs: number;
  /** Bytes of GPU memory the weights occupy after loading, or undefined on CPU backends. */
  readonly weightBytes: number | undefined;
  /**
   * Runs `tokens` from an empty cache and returns the id of the most likely next token, which the
   * report shows so that backends computing different things stand out.
   */
  prefill(tokens: number[]): Promise<number>;
  dispose(): Promise<void>;
}
