// Block minimums of Q4_1 matrices, kept next to the float32 weights so that the reference can
// emulate llama.cpp's Q4_1 dot product (see activation-rounding.ts).

import { InvalidInputError } from "../errors.js";
import { f16BitsToF32 } from "../gguf/half.js";
import { BLOCK_LAYOUTS, GGMLType } from "../gguf/types.js";

/**
 * Returns the minimum `m` of every 32-element block of a Q4_1 tensor, in storage order: for a
 * matrix [rows, inFeatures] that is [rows, inFeatures / 32]. Each 20-byte block stores d (f16),
 * m (f16) and 16 bytes of 4-bit values, and decodes to d * q + m.
 */
export function readQ4_1BlockMinimums(bytes: Uint8Array, elementCount: number, label: string): Float32Array {
  const { blockSize, bytesPerBlock } = BLOCK_LAYOUTS[GGMLType.Q4_1]!;
  if (elementCount % blockSize !== 0 || bytes.length !== (elementCount / blockSize) * bytesPerBlock) {
    throw new InvalidInputError(
      `readQ4_1BlockMinimums: ${label} has ${bytes.length} bytes for ${elementCount} elements, but Q4_1 needs ${bytesPerBlock} bytes per ${blockSize} elements; check the tensor's type and dims`,
    );
  }

  const blocks = elementCount / blockSize;
  const minimums = new Float32Array(blocks);
  for (let block = 0; block < blocks; block++) {
    const offset = block * bytesPerBlock + 2; // m follows the 2-byte scale d
    minimums[block] = f16BitsToF32(bytes[offset]! | (bytes[offset + 1]! << 8));
  }
  return minimums;
}
