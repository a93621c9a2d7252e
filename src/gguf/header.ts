// Parses the GGUF header (magic, version, counts, metadata, tensor infos) from a ByteSource.
// Layout, all little-endian: "GGUF", u32 version, u64 tensor count, u64 metadata count, the
// metadata entries, the tensor infos, then padding up to the alignment where tensor data begins.
// The input is untrusted: every count and length is checked against the bytes left in the file
// before anything is allocated, so a hostile header fails fast with GGUFFormatError.

import { GGUFFormatError, GGUFUnsupportedError } from "../errors.js";
import type { ByteSource } from "../io/source.js";
import { ByteCursor } from "./cursor.js";
import {
  BLOCK_LAYOUTS,
  GGUF_DEFAULT_ALIGNMENT,
  GGMLType,
  GGUF_MAGIC,
  GGUFValueType,
  ggmlTypeName,
  type GGUFArrayValue,
  type GGUFMetadataValue,
  type GGUFTensorInfo,
} from "./types.js";

export interface GGUFHeader {
  version: 2 | 3;
  alignment: number;
  metadata: Map<string, GGUFMetadataValue>;
  tensors: GGUFTensorInfo[];
  /** Absolute offset of the tensor data section: the end of the header, rounded up to `alignment`. */
  tensorDataOffset: number;
}

const MAX_TENSOR_DIMS = 4;

/** Nested arrays deeper than this are rejected, so a hostile file cannot exhaust the stack. */
const MAX_ARRAY_DEPTH = 8;
/** Max elements of one metadata array, so a hostile count cannot exhaust memory. */
const MAX_ARRAY_ELEMENTS = 1 << 24;

// Smallest encodings, used to reject counts that cannot fit in the bytes left in the file.
const MIN_METADATA_ENTRY_BYTES = 8 + 4 + 1; // key length, value type, a one-byte value
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8; // name length, n_dims, one dim, type, offset
const MIN_ARRAY_BYTES = 4 + 8; // element type, count

/** Encoded size of each value type. For STRING and ARRAY it is the minimum, that of an empty one. */
const VALUE_SIZES: Record<GGUFValueType, number> = {
  [GGUFValueType.UINT8]: 1,
  [GGUFValueType.INT8]: 1,
  [GGUFValueType.UINT16]: 2,
  [GGUFValueType.INT16]: 2,
  [GGUFValueType.UINT32]: 4,
  [GGUFValueType.INT32]: 4,
  [GGUFValueType.FLOAT32]: 4,
  [GGUFValueType.BOOL]: 1,
  [GGUFValueType.STRING]: 8,
  [GGUFValueType.ARRAY]: MIN_ARRAY_BYTES,
  [GGUFValueType.UINT64]: 8,
  [GGUFValueType.INT64]: 8,
  [GGUFValueType.FLOAT64]: 8,
};

const INTEGER_TYPES = new Set<GGUFValueType>([
  GGUFValueType.UINT8,
  GGUFValueType.INT8,
  GGUFValueType.UINT16,
  GGUFValueType.INT16,
  GGUFValueType.UINT32,
  GGUFValueType.INT32,
  GGUFValueType.UINT64,
  GGUFValueType.INT64,
]);

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Formats a metadata key for error fields, e.g. `metadata["general.name"]`. */
export function metadataField(key: string): string {
  return `metadata[${JSON.stringify(key)}]`;
}

class HeaderParser {
  private readonly cursor: ByteCursor;
  private readonly file: string;

  constructor(private readonly source: ByteSource, signal?: AbortSignal, chunkSize?: number) {
    this.cursor = new ByteCursor(source, signal, chunkSize);
    this.file = source.name;
  }

  private invalid(field: string, message: string, value?: string | number | bigint): GGUFFormatError {
    return new GGUFFormatError(this.file, field, message, value);
  }

  /** Converts a u64 count to a number after checking that `count` items of `itemBytes` fit in the rest of the file. */
  private checkedCount(count: bigint, itemBytes: number, field: string, quantity: string): number {
    const remaining = this.cursor.remaining;
    const minimumBytes = count * BigInt(itemBytes);
    if (minimumBytes > BigInt(remaining)) {
      throw this.invalid(
        field,
        `${quantity} ${count} needs at least ${minimumBytes} bytes, but only ${remaining} remain after offset ${this.cursor.offset}; the header is corrupt`,
        count,
      );
    }
    return Number(count);
  }

  async readString(field: string): Promise<string> {
    const length = this.checkedCount(await this.cursor.readU64(`${field}.length`), 1, `${field}.length`, "string length");
    await this.cursor.ensure(length, field);
    const bytes = this.cursor.bytes(length);
    try {
      return utf8.decode(bytes);
    } catch {
      throw this.invalid(field, `string of ${length} bytes at offset ${this.cursor.offset - length} is not valid UTF-8`, this.cursor.offset - length);
    }
  }

  private checkValueType(type: number, field: string): GGUFValueType {
    if (VALUE_SIZES[type as GGUFValueType] === undefined) {
      throw this.invalid(field, `value type ${type} is not a GGUF value type (0 to 12 are defined)`, type);
    }
    return type as GGUFValueType;
  }

  /** Reads one scalar of a fixed-size or string type. */
  private async readScalar(type: GGUFValueType, field: string): Promise<number | bigint | boolean | string> {
    if (type === GGUFValueType.STRING) return this.readString(field);

    const cursor = this.cursor;
    const size = VALUE_SIZES[type];
    if (!cursor.has(size)) await cursor.ensure(size, field);

    switch (type) {
      case GGUFValueType.UINT8: return cursor.u8();
      case GGUFValueType.INT8: return cursor.i8();
      case GGUFValueType.UINT16: return cursor.u16();
      case GGUFValueType.INT16: return cursor.i16();
      case GGUFValueType.UINT32: return cursor.u32();
      case GGUFValueType.INT32: return cursor.i32();
      case GGUFValueType.FLOAT32: return cursor.f32();
      case GGUFValueType.UINT64: return cursor.u64();
      case GGUFValueType.INT64: return cursor.i64();
      case GGUFValueType.FLOAT64: return cursor.f64();
      case GGUFValueType.BOOL: {
        const byte = cursor.u8();
        if (byte > 1) throw this.invalid(field, `BOOL value ${byte} is invalid; GGUF booleans are 0 or 1`, byte);
        return byte === 1;
      }
      default:
        throw this.invalid(field, `value type ${type} is not a scalar type`, type);
    }
  }

  /** Reads an array body (element type, count, elements). `depth` is the number of enclosing arrays. */
  private async readArray(field: string, depth: number): Promise<GGUFMetadataValue> {
    const elementType = this.checkValueType(await this.cursor.readU32(`${field}.elementType`), `${field}.elementType`);
    const countField = `${field}.count`;
    const count = this.checkedCount(await this.cursor.readU64(countField), VALUE_SIZES[elementType], countField, "array count");

    if (count > MAX_ARRAY_ELEMENTS) {
      throw new GGUFUnsupportedError(this.file, countField, `arrays longer than ${MAX_ARRAY_ELEMENTS} elements are not supported (the largest vocabularies need under 1 million)`, count);
    }

    if (elementType !== GGUFValueType.ARRAY) {
      // push keeps V8's packed array representation; `new Array(count)` with a large count does not.
      const values: (number | bigint | boolean | string)[] = [];
      for (let i = 0; i < count; i++) values.push(await this.readScalar(elementType, `${field}[${i}]`));
      return { type: GGUFValueType.ARRAY, elementType, value: values as GGUFArrayValue };
    }

    if (depth + 1 >= MAX_ARRAY_DEPTH) {
      throw new GGUFUnsupportedError(this.file, field, `arrays nested more than ${MAX_ARRAY_DEPTH} deep are not supported`, depth + 1);
    }
    const nested: GGUFMetadataValue[] = [];
    for (let i = 0; i < count; i++) nested.push(await this.readArray(`${field}[${i}]`, depth + 1));
    return { type: GGUFValueType.ARRAY, elementType, value: nested };
  }

  private async readValue(field: string): Promise<GGUFMetadataValue> {
    const type = this.checkValueType(await this.cursor.readU32(`${field}.type`), `${field}.type`);
    if (type === GGUFValueType.ARRAY) return this.readArray(field, 0);
    return { type, value: await this.readScalar(type, field) };
  }

  private async readVersion(): Promise<2 | 3> {
    const magic = await this.cursor.readU32("magic");
    if (magic !== GGUF_MAGIC) {
      const hex = `0x${magic.toString(16).padStart(8, "0")}`;
      throw this.invalid("magic", `expected "GGUF" (0x46554747 little-endian), got ${hex}; this is not a GGUF file`, hex);
    }

    const version = await this.cursor.readU32("version");
    if (version === 2 || version === 3) return version;

    const swapped = ((version & 0xff) << 24) | ((version >>> 8 & 0xff) << 16) | ((version >>> 16 & 0xff) << 8) | (version >>> 24);
    const hint =
      swapped === 2 || swapped === 3
        ? "the file looks big-endian, which is not supported; convert it to little-endian"
        : "re-export the model with a current llama.cpp (convert_hf_to_gguf.py), which writes version 3";
    throw new GGUFUnsupportedError(this.file, "version", `GGUF version ${version} is not supported (versions 2 and 3 are); ${hint}`, version);
  }

  private async readMetadata(count: number): Promise<Map<string, GGUFMetadataValue>> {
    const metadata = new Map<string, GGUFMetadataValue>();
    for (let i = 0; i < count; i++) {
      const key = await this.readString(`metadata[${i}].key`);
      const field = metadataField(key);
      if (metadata.has(key)) throw this.invalid(field, `duplicate key at entry ${i}; each key may appear once`, key);
      metadata.set(key, await this.readValue(field));
    }
    return metadata;
  }

  private readAlignment(metadata: Map<string, GGUFMetadataValue>): number {
    const entry = metadata.get("general.alignment");
    if (!entry) return GGUF_DEFAULT_ALIGNMENT;

    const field = metadataField("general.alignment");
    const value = entry.type === GGUFValueType.ARRAY ? undefined : entry.value;
    if (!INTEGER_TYPES.has(entry.type) || (typeof value !== "number" && typeof value !== "bigint")) {
      throw this.invalid(field, `must be an integer, got ${GGUFValueType[entry.type]}`, GGUFValueType[entry.type]);
    }
    const alignment = Number(value);
    if (!(alignment > 0 && alignment <= 0x80000000 && (alignment & (alignment - 1)) === 0)) {
      throw this.invalid(field, `alignment ${value} is not a power of two`, value);
    }
    return alignment;
  }

  private async readTensorInfo(index: number, names: Set<string>): Promise<GGUFTensorInfo> {
    const field = `tensor[${index}]`;
    const name = await this.readString(`${field}.name`);
    if (names.has(name)) throw this.invalid(`${field}.name`, `duplicate tensor name "${name}"`, name);
    names.add(name);

    const dimCount = await this.cursor.readU32(`${field}.dims`);
    if (dimCount < 1 || dimCount > MAX_TENSOR_DIMS) {
      throw this.invalid(`${field}.dims`, `tensor ${name} has ${dimCount} dimensions; 1 to ${MAX_TENSOR_DIMS} are allowed`, dimCount);
    }

    const dims: number[] = [];
    let elementCount = 1;
    for (let d = 0; d < dimCount; d++) {
      const dim = await this.cursor.readU64(`${field}.dims[${d}]`);
      if (dim < 1n || dim > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw this.invalid(`${field}.dims[${d}]`, `tensor ${name} has dimension ${dim}; each must be between 1 and 2^53 - 1`, dim);
      }
      dims.push(Number(dim));
      elementCount *= Number(dim);
    }
    if (!Number.isSafeInteger(elementCount)) {
      throw this.invalid(`${field}.dims`, `tensor ${name} with dims [${dims}] has more than 2^53 - 1 elements`, `[${dims}]`);
    }

    const type = await this.cursor.readU32(`${field}.type`);
    const layout = BLOCK_LAYOUTS[type as keyof typeof BLOCK_LAYOUTS];
    if (!layout) {
      const known = Object.keys(BLOCK_LAYOUTS).map((t) => ggmlTypeName(Number(t))).join(", ");
      const label = GGMLType[type] === undefined ? `${type}` : `${GGMLType[type]} (${type})`;
      throw new GGUFUnsupportedError(this.file, `${field}.type`, `tensor ${name} has ggml type ${label}, whose block size is not known; known types: ${known}`, type);
    }
    if (dims[0]! % layout.blockSize !== 0) {
      throw this.invalid(`${field}.dims`, `tensor ${name}: dims[0] = ${dims[0]} is not a multiple of the ${ggmlTypeName(type)} block size ${layout.blockSize}`, dims[0]);
    }

    const offset = await this.cursor.readU64(`${field}.offset`);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw this.invalid(`${field}.offset`, `tensor ${name} has data offset ${offset}, beyond any readable file`, offset);
    }
    const byteLength = (elementCount / layout.blockSize) * layout.bytesPerBlock;
    return { name, dims, type, offset: Number(offset), elementCount, byteLength };
  }

  /** Checks that each tensor's data starts aligned and ends inside the file. */
  private checkTensorPlacement(tensors: GGUFTensorInfo[], alignment: number, tensorDataOffset: number): void {
    tensors.forEach((tensor, index) => {
      const field = `tensor[${index}].offset`;
      if (tensor.offset % alignment !== 0) {
        throw this.invalid(field, `tensor ${tensor.name} data offset ${tensor.offset} is not a multiple of the alignment ${alignment}`, tensor.offset);
      }
      const end = tensorDataOffset + tensor.offset + tensor.byteLength;
      if (end > this.source.size) {
        throw this.invalid(
          field,
          `tensor ${tensor.name} data (${tensor.byteLength} bytes at offset ${tensor.offset}) ends at byte ${end}, past the end of the ${this.source.size}-byte file; the file is truncated`,
          tensor.offset,
        );
      }
    });

    // Two tensors sharing bytes would alias each other's weights; llama.cpp rejects such files too.
    const byOffset = tensors.map((tensor, index) => ({ tensor, index })).sort((a, b) => a.tensor.offset - b.tensor.offset);
    for (let i = 1; i < byOffset.length; i++) {
      const previous = byOffset[i - 1]!.tensor;
      const { tensor, index } = byOffset[i]!;
      if (tensor.byteLength > 0 && previous.byteLength > 0 && tensor.offset < previous.offset + previous.byteLength) {
        throw this.invalid(
          `tensor[${index}].offset`,
          `tensor ${tensor.name} data at offset ${tensor.offset} overlaps tensor ${previous.name} (${previous.byteLength} bytes at offset ${previous.offset}); each tensor needs its own bytes`,
          tensor.offset,
        );
      }
    }
  }

  async parse(): Promise<GGUFHeader> {
    const version = await this.readVersion();

    const tensorCountField = "header.tensorCount";
    const metadataCountField = "header.metadataCount";
    const rawTensorCount = await this.cursor.readU64(tensorCountField);
    const rawMetadataCount = await this.cursor.readU64(metadataCountField);
    const tensorCount = this.checkedCount(rawTensorCount, MIN_TENSOR_INFO_BYTES, tensorCountField, "tensor count");
    const metadataCount = this.checkedCount(rawMetadataCount, MIN_METADATA_ENTRY_BYTES, metadataCountField, "metadata count");

    const metadata = await this.readMetadata(metadataCount);
    const alignment = this.readAlignment(metadata);

    const names = new Set<string>();
    const tensors: GGUFTensorInfo[] = [];
    for (let i = 0; i < tensorCount; i++) tensors.push(await this.readTensorInfo(i, names));

    const tensorDataOffset = Math.ceil(this.cursor.offset / alignment) * alignment;
    this.checkTensorPlacement(tensors, alignment, tensorDataOffset);
    return { version, alignment, metadata, tensors, tensorDataOffset };
  }
}

/**
 * Parses and validates a GGUF header, reading the source `chunkSize` bytes at a time (1 MiB by
 * default). Throws GGUFFormatError or GGUFUnsupportedError naming the field.
 */
export function parseGGUFHeader(source: ByteSource, signal?: AbortSignal, chunkSize?: number): Promise<GGUFHeader> {
  return new HeaderParser(source, signal, chunkSize).parse();
}
