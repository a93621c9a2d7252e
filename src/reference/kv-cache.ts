// Per-layer key/value cache of a reference forward pass.

/** Keys and values of every processed position, per layer: [length, headCountKV * headDim] each, row-major. */
export class KVCache {
  private keys: Float32Array[];
  private values: Float32Array[];
  private capacity: number;
  private storedLength = 0;

  constructor(
    readonly layerCount: number,
    /** Elements per position and layer: headCountKV * headDim. */
    readonly rowWidth: number,
    /** Max positions the cache accepts (the model's context length). */
    readonly maxLength: number,
  ) {
    this.capacity = Math.min(16, maxLength);
    this.keys = Array.from({ length: layerCount }, () => new Float32Array(this.capacity * rowWidth));
    this.values = Array.from({ length: layerCount }, () => new Float32Array(this.capacity * rowWidth));
  }

  /** Positions stored. */
  get length(): number {
    return this.storedLength;
  }

  /**
   * Writes rows [rows, rowWidth] of keys and values for `layer` at positions `length ..`. The
   * positions count as stored only after `commit`, so every layer of one forward call writes
   * at the same offset.
   */
  write(layer: number, keys: Float32Array, values: Float32Array): void {
    const rows = keys.length / this.rowWidth;
    this.reserve(this.storedLength + rows);
    this.keys[layer]!.set(keys, this.storedLength * this.rowWidth);
    this.values[layer]!.set(values, this.storedLength * this.rowWidth);
  }

  /** Marks `rows` more positions as stored, after every layer has written them. */
  commit(rows: number): void {
    this.storedLength += rows;
  }

  /** Returns the key storage of `layer`; rows 0 .. length + pending rows are valid. */
  layerKeys(layer: number): Float32Array {
    return this.keys[layer]!;
  }

  layerValues(layer: number): Float32Array {
    return this.values[layer]!;
  }

  /** Drops every stored position. */
  clear(): void {
    this.storedLength = 0;
  }

  private reserve(rows: number): void {
    if (rows <= this.capacity) return;
    let capacity = this.capacity;
    while (capacity < rows) capacity *= 2;
    capacity = Math.min(Math.max(capacity, rows), this.maxLength);

    for (let layer = 0; layer < this.layerCount; layer++) {
      const keys = new Float32Array(capacity * this.rowWidth);
      keys.set(this.keys[layer]!.subarray(0, this.storedLength * this.rowWidth));
      this.keys[layer] = keys;
      const values = new Float32Array(capacity * this.rowWidth);
      values.set(this.values[layer]!.subarray(0, this.storedLength * this.rowWidth));
      this.values[layer] = values;
    }
    this.capacity = capacity;
  }
}
