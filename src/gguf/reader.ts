// GGUF model file reader: parses the header once, then reads tensors on demand from the source.

import { GGUFFormatError, GGUFUnsupportedError, TensorNotFoundError } from "../errors.js";
import type { ByteSource } from "../io/source.js";
import { metadataField, parseGGUFHeader } from "./header.js";
import { dequantize } from "./quant.js";
import {
  GGUFValueType,
  SUPPORTED_TENSOR_TYPES,
  ggmlTypeName,
  type GGUFMetadataValue,
  type GGUFTensorInfo,
} from "./types.js";

export interface GGUFOpenOptions {
  signal?: AbortSignal;
}

const NUMBER_TYPES = new Set<GGUFValueType>([
  GGUFValueType.UINT8,
  GGUFValueType.INT8,
  GGUFValueType.UINT16,
  GGUFValueType.INT16,
  GGUFValueType.UINT32,
  GGUFValueType.INT32,
  GGUFValueType.FLOAT32,
  GGUFValueType.UINT64,
  GGUFValueType.INT64,
  GGUFValueType.FLOAT64,
]);

function typeName(entry: GGUFMetadataValue): string {
  if (entry.type === GGUFValueType.ARRAY) return `ARRAY of ${GGUFValueType[entry.elementType]}`;
  return GGUFValueType[entry.type] ?? `type ${entry.type}`;
}

/** A parsed GGUF file: metadata and tensor infos in memory, tensor data still in the source. */
export class GGUFFile {
  private readonly tensorsByName: Map<string, GGUFTensorInfo>;

  private constructor(
    readonly source: ByteSource,
    readonly version: 2 | 3,
    readonly alignment: number,
    readonly metadata: Map<string, GGUFMetadataValue>,
    readonly tensors: GGUFTensorInfo[],
    /** Absolute offset of the tensor data section. A tensor's bytes start at this plus its `offset`. */
    readonly tensorDataOffset: number,
  ) {
    this.tensorsByName = new Map(tensors.map((tensor) => [tensor.name, tensor]));
  }

  /**
   * Parses and validates the header of `source`. Rejects with GGUFFormatError (malformed file),
   * GGUFUnsupportedError (unsupported version or unknown tensor type), IOError or AbortError.
   */
  static async open(source: ByteSource, options: GGUFOpenOptions = {}): Promise<GGUFFile> {
    const header = await parseGGUFHeader(source, options.signal);
    return new GGUFFile(source, header.version, header.alignment, header.metadata, header.tensors, header.tensorDataOffset);
  }

  /** The source's name (a path or URL), used in error messages. */
  get name(): string {
    return this.source.name;
  }

  /** File size in bytes. */
  get size(): number {
    return this.source.size;
  }

  /** The `general.architecture` value, e.g. "llama" or "qwen2". */
  get architecture(): string {
    return this.getString("general.architecture");
  }

  hasTensor(name: string): boolean {
    return this.tensorsByName.has(name);
  }

  /** Returns the tensor info for `name`, or throws TensorNotFoundError when the file has no such tensor. */
  tensor(name: string): GGUFTensorInfo {
    const info = this.tensorsByName.get(name);
    if (!info) throw new TensorNotFoundError(this.name, name);
    return info;
  }

  // Typed metadata getters. Each throws GGUFFormatError naming the key when it is missing or has
  // another type. The `getOptional` variants return undefined when the key is absent.

  private wrongType(key: string, expected: string, entry: GGUFMetadataValue): GGUFFormatError {
    return new GGUFFormatError(this.name, metadataField(key), `expected ${expected}, got ${typeName(entry)}; the file does not follow the GGUF key conventions`, typeName(entry));
  }

  private required<T>(key: string, expected: string, read: (key: string) => T | undefined): T {
    const value = read(key);
    if (value === undefined) {
      throw new GGUFFormatError(this.name, metadataField(key), `missing required ${expected} key; the file may be incomplete or of another architecture`);
    }
    return value;
  }

  private toNumber(key: string, value: number | bigint, field = metadataField(key)): number {
    if (typeof value === "number") return value;
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new GGUFFormatError(this.name, field, `64-bit value ${value} does not fit a JavaScript number exactly; read it from file.metadata as a bigint`, value);
    }
    return Number(value);
  }

  getOptionalString(key: string): string | undefined {
    const entry = this.metadata.get(key);
    if (entry === undefined) return undefined;
    if (entry.type !== GGUFValueType.STRING) throw this.wrongType(key, "STRING", entry);
    return entry.value as string;
  }

  /** Returns any integer or float value as a number. 64-bit integers must be within ±(2^53 - 1). */
  getOptionalNumber(key: string): number | undefined {
    const entry = this.metadata.get(key);
    if (entry === undefined) return undefined;
    if (entry.type === GGUFValueType.ARRAY || !NUMBER_TYPES.has(entry.type)) throw this.wrongType(key, "a number", entry);
    return this.toNumber(key, entry.value as number | bigint);
  }

  getOptionalBool(key: string): boolean | undefined {
    const entry = this.metadata.get(key);
    if (entry === undefined) return undefined;
    if (entry.type !== GGUFValueType.BOOL) throw this.wrongType(key, "BOOL", entry);
    return entry.value as boolean;
  }

  getOptionalStringArray(key: string): string[] | undefined {
    const entry = this.metadata.get(key);
    if (entry === undefined) return undefined;
    if (entry.type !== GGUFValueType.ARRAY || entry.elementType !== GGUFValueType.STRING) throw this.wrongType(key, "ARRAY of STRING", entry);
    return entry.value as string[];
  }

  /** Returns an array of any integer or float element type as numbers. 64-bit elements must be within ±(2^53 - 1). */
  getOptionalNumberArray(key: string): number[] | undefined {
    const entry = this.metadata.get(key);
    if (entry === undefined) return undefined;
    if (entry.type !== GGUFValueType.ARRAY || !NUMBER_TYPES.has(entry.elementType)) throw this.wrongType(key, "ARRAY of numbers", entry);

    const values = entry.value as (number | bigint)[];
    if (entry.elementType !== GGUFValueType.UINT64 && entry.elementType !== GGUFValueType.INT64) return values as number[];
    return values.map((value, i) => this.toNumber(key, value, `${metadataField(key)}[${i}]`));
  }

  getString(key: string): string {
    return this.required(key, "STRING", (k) => this.getOptionalString(k));
  }

  getNumber(key: string): number {
    return this.required(key, "number", (k) => this.getOptionalNumber(k));
  }

  getBool(key: string): boolean {
    return this.required(key, "BOOL", (k) => this.getOptionalBool(k));
  }

  getStringArray(key: string): string[] {
    return this.required(key, "ARRAY of STRING", (k) => this.getOptionalStringArray(k));
  }

  getNumberArray(key: string): number[] {
    return this.required(key, "ARRAY of numbers", (k) => this.getOptionalNumberArray(k));
  }

  private resolveTensor(nameOrInfo: string | GGUFTensorInfo): GGUFTensorInfo {
    const info = typeof nameOrInfo === "string" ? this.tensor(nameOrInfo) : nameOrInfo;
    if (!SUPPORTED_TENSOR_TYPES.includes(info.type)) {
      const supported = SUPPORTED_TENSOR_TYPES.map(ggmlTypeName).join(", ");
      throw new GGUFUnsupportedError(
        this.name,
        `tensor["${info.name}"].type`,
        `${ggmlTypeName(info.type)} tensor ${info.name} is not supported; supported: ${supported}. Requantize the model to one of these types`,
        ggmlTypeName(info.type),
      );
    }
    return info;
  }

  /**
   * Reads a tensor's encoded bytes. Throws GGUFUnsupportedError for types outside
   * SUPPORTED_TENSOR_TYPES. Over a MemorySource the result is a view of the file's buffer, not a copy.
   */
  async readTensorBytes(nameOrInfo: string | GGUFTensorInfo, signal?: AbortSignal): Promise<Uint8Array> {
    const info = this.resolveTensor(nameOrInfo);
    return this.source.read(this.tensorDataOffset + info.offset, info.byteLength, signal);
  }

  /** Reads a tensor and dequantizes it to float32, in ggml element order (`dims[0]` contiguous). */
  async readTensorF32(nameOrInfo: string | GGUFTensorInfo, signal?: AbortSignal): Promise<Float32Array> {
    const info = this.resolveTensor(nameOrInfo);
    const bytes = await this.readTensorBytes(info, signal);
    return dequantize(info.type, bytes, info.elementCount, { file: this.name, tensor: info.name });
  }
}
