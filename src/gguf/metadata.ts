// Constructors for GGUF metadata values, so writers and tests can build entries without spelling
// out `{ type: GGUFValueType.UINT32, value: 5 }` by hand. Range checks happen in the writer.

import { GGUFValueType, type GGUFMetadataValue } from "./types.js";

function scalar(type: Exclude<GGUFValueType, GGUFValueType.ARRAY>, value: number | bigint | boolean | string): GGUFMetadataValue {
  return { type, value };
}

function toBigInt(value: number | bigint): bigint {
  return typeof value === "bigint" ? value : BigInt(value);
}

/** Metadata value constructors, one per GGUF value type, plus the common array types. */
export const meta = {
  u8: (value: number): GGUFMetadataValue => scalar(GGUFValueType.UINT8, value),
  i8: (value: number): GGUFMetadataValue => scalar(GGUFValueType.INT8, value),
  u16: (value: number): GGUFMetadataValue => scalar(GGUFValueType.UINT16, value),
  i16: (value: number): GGUFMetadataValue => scalar(GGUFValueType.INT16, value),
  u32: (value: number): GGUFMetadataValue => scalar(GGUFValueType.UINT32, value),
  i32: (value: number): GGUFMetadataValue => scalar(GGUFValueType.INT32, value),
  f32: (value: number): GGUFMetadataValue => scalar(GGUFValueType.FLOAT32, value),
  f64: (value: number): GGUFMetadataValue => scalar(GGUFValueType.FLOAT64, value),
  /** A 64-bit unsigned integer. A `number` argument must be an integer, or `BigInt` throws a RangeError. */
  u64: (value: number | bigint): GGUFMetadataValue => scalar(GGUFValueType.UINT64, toBigInt(value)),
  i64: (value: number | bigint): GGUFMetadataValue => scalar(GGUFValueType.INT64, toBigInt(value)),
  bool: (value: boolean): GGUFMetadataValue => scalar(GGUFValueType.BOOL, value),
  str: (value: string): GGUFMetadataValue => scalar(GGUFValueType.STRING, value),

  strArray: (values: string[]): GGUFMetadataValue => ({ type: GGUFValueType.ARRAY, elementType: GGUFValueType.STRING, value: [...values] }),
  f32Array: (values: ArrayLike<number>): GGUFMetadataValue => ({ type: GGUFValueType.ARRAY, elementType: GGUFValueType.FLOAT32, value: Array.from(values) }),
  i32Array: (values: ArrayLike<number>): GGUFMetadataValue => ({ type: GGUFValueType.ARRAY, elementType: GGUFValueType.INT32, value: Array.from(values) }),
  u32Array: (values: ArrayLike<number>): GGUFMetadataValue => ({ type: GGUFValueType.ARRAY, elementType: GGUFValueType.UINT32, value: Array.from(values) }),
  boolArray: (values: boolean[]): GGUFMetadataValue => ({ type: GGUFValueType.ARRAY, elementType: GGUFValueType.BOOL, value: [...values] }),

  /**
   * An array of any element type. Numbers go in `number[]`, except UINT64 and INT64 elements, which
   * are `bigint[]`. For nested arrays pass `GGUFValueType.ARRAY` and a list of array values.
   */
  array: (elementType: GGUFValueType, values: number[] | bigint[] | boolean[] | string[] | GGUFMetadataValue[]): GGUFMetadataValue => ({
    type: GGUFValueType.ARRAY,
    elementType,
    value: values,
  }),
};
