// Random-access byte sources: a model file is read piece by piece, never loaded whole.

/** Random-access, read-only bytes: a local file, a Blob, an HTTP resource with Range support, or memory. */
export interface ByteSource {
  /** Human-readable name used in error messages (a path or URL). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /**
   * Reads `length` bytes starting at `offset`. Rejects with `IOError` when the range is not fully
   * inside the source; never returns fewer bytes than requested.
   */
  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  /** Releases the underlying handle, if any. */
  close?(): Promise<void>;
}
