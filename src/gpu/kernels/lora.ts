// Multi-adapter LoRA on the GPU: y[i] += scale_s * B_s (A_s x[i]) for each row i of x [m, k],
// where s is the adapter slot of the segment that contains row i (shaders/lora_shrink.wgsl and
// shaders/lora_expand.wgsl). The matmul kernel writes the base projection y = x W^T first, and
// these dispatches add the adapter deltas onto it. W + scale * B A is never formed.
//
// API:
//   const set = LoraAdapterSet.create(ctx, { k, n, slots: [{ a, b, rank, scale } | undefined, ...] });
//   const sets = createLoraAdapterSets(ctx, adapters);   // Map: GGUF weight name -> set, slot s = adapters[s]
//   const tiles = LoraRowTiles.create(ctx, { m, segments: [{ rowStart, rowCount, slot }, ...] });
//   const scratch = ctx.createStorageBuffer("lora.t", loraScratchBytes(m, set));
//   const dispatches = loraDispatches(ctx, { x, y, scratch, set, tiles });   // [shrink, expand] or []
//   await applyLora(ctx, { x, y, scratch, set, tiles });                     // the same, run at once
//
// One LoraAdapterSet per projection (such as blk.3.attn_q): slot s contains adapter s's A and B for
// that matrix, or nothing. Slot numbers are shared by every projection of a batch, so one
// LoraRowTiles serves all projections of a forward pass.
//
// GPU buffer layouts (all little-endian, 4-byte elements):
//   set.a      f32, A_s [rank_s, k] row-major for every slot with rank_s > 0, back to back
//   set.b      f32, B_s [n, rank_s] row-major for every slot with rank_s > 0, back to back
//   set.slots  [slotCount] x { aOffset u32, bOffset u32, rank u32, scale f32 }, offsets in elements
//   tiles      [tileCount] x { rowStart u32, rowCount u32, slot u32 }
//   scratch    f32 [m, set.maxRank]

import type { LoraAdapter } from "../../adapters/lora.js";
import { AdapterMismatchError, DeviceLimitsError, InvalidInputError } from "../../errors.js";
import { UniformWriter } from "../buffers.js";
import type { GPUContext } from "../context.js";
import { grid2D, type KernelDispatch } from "../pipelines.js";

/** Rows per tile: MAX_TILE_ROWS in shaders/lora_common.wgsl. */
export const LORA_TILE_ROWS = 8;

/** Threads per workgroup of both LoRA kernels. The shrink kernel needs at least LORA_TILE_ROWS * 4. */
export const LORA_WORKGROUP_SIZE = 64;

/** Storage buffers each LoRA kernel binds. */
const LORA_STORAGE_BINDINGS = 5;

/** One adapter's matrices for one projection W [n, k]. A `LoraMatrix` from src/adapters fits this shape. */
export interface LoraSlotWeights {
  /** A [rank, k] row-major f32. */
  a: Float32Array;
  /** B [n, rank] row-major f32. */
  b: Float32Array;
  /** At least 1. */
  rank: number;
  /** Multiplier of B A, such as alpha / rank. */
  scale: number;
}

export interface LoraAdapterSetOptions {
  /** Input features of the projection: columns of x and of every A. */
  k: number;
  /** Output features of the projection: columns of y and rows of every B. */
  n: number;
  /** Slot s contains adapter s's matrices for this projection, or undefined when the adapter does not target it. */
  slots: readonly (LoraSlotWeights | undefined)[];
  /** GPU buffer label prefix, such as the weight name. */
  label?: string;
}

/** Every adapter's A and B of one projection, packed and uploaded with their slot table. */
export class LoraAdapterSet {
  private constructor(
    private readonly ctx: GPUContext,
    readonly label: string,
    readonly k: number,
    readonly n: number,
    /** Rank per slot, 0 for a slot without matrices. */
    readonly ranks: readonly number[],
    /** Packed A matrices, f32. */
    readonly a: GPUBuffer,
    /** Packed B matrices, f32. */
    readonly b: GPUBuffer,
    /** Slot table: [slotCount] x { aOffset, bOffset, rank, scale }. */
    readonly slots: GPUBuffer,
  ) {}

  /** Checks the shapes, packs the matrices and uploads the three buffers. */
  static create(ctx: GPUContext, options: LoraAdapterSetOptions): LoraAdapterSet {
    const label = options.label ?? "lora";
    const { k, n, slots } = options;
    checkPositiveInteger(label, "k", k);
    checkPositiveInteger(label, "n", n);
    if (slots.length === 0) {
      throw new InvalidInputError(`${label}: slots is empty; pass one entry per adapter, undefined where an adapter does not target this projection`);
    }

    // Element offsets of each slot's matrices in the packed buffers.
    const ranks = slots.map((slot) => slot?.rank ?? 0);
    const table = new DataView(new ArrayBuffer(slots.length * 16)); // [slotCount] x 4 words
    let aElements = 0;
    let bElements = 0;
    slots.forEach((slot, index) => {
      if (slot) checkSlotWeights(label, index, slot, k, n);
      table.setUint32(index * 16, aElements, true);
      table.setUint32(index * 16 + 4, bElements, true);
      table.setUint32(index * 16 + 8, ranks[index]!, true);
      table.setFloat32(index * 16 + 12, slot?.scale ?? 0, true);
      aElements += ranks[index]! * k;
      bElements += n * ranks[index]!;
    });
    checkBindingSize(ctx, label, "packed A", aElements * 4);
    checkBindingSize(ctx, label, "packed B", bElements * 4);

    const packedA = new Float32Array(aElements);
    const packedB = new Float32Array(bElements);
    slots.forEach((slot, index) => {
      if (!slot) return;
      packedA.set(slot.a.subarray(0, slot.rank * k), table.getUint32(index * 16, true));
      packedB.set(slot.b.subarray(0, n * slot.rank), table.getUint32(index * 16 + 4, true));
    });

    return new LoraAdapterSet(
      ctx,
      label,
      k,
      n,
      ranks,
      ctx.createStorageBuffer(`${label}.a`, packedA),
      ctx.createStorageBuffer(`${label}.b`, packedB),
      ctx.createStorageBuffer(`${label}.slots`, new Uint8Array(table.buffer)),
    );
  }

  get slotCount(): number {
    return this.ranks.length;
  }

  /** Largest rank over the slots: the row stride of the scratch buffer. */
  get maxRank(): number {
    return Math.max(...this.ranks);
  }

  /** Destroys the packed matrices and the slot table. */
  dispose(): void {
    for (const buffer of [this.a, this.b, this.slots]) this.ctx.destroyBuffer(buffer);
  }
}

/**
 * Creates one LoraAdapterSet per weight that any adapter targets, keyed by GGUF weight name such
 * as "blk.3.attn_q.weight". Slot s of every set is adapters[s], left empty in the sets of weights
 * that adapter does not target. Throws AdapterMismatchError when two adapters give one weight
 * different shapes. Weights that no adapter targets get no set and need no LoRA dispatch.
 */
export function createLoraAdapterSets(ctx: GPUContext, adapters: readonly LoraAdapter[]): Map<string, LoraAdapterSet> {
  // Weight name -> the first adapter that targets it, which fixes the expected shape.
  const shapes = new Map<string, { inFeatures: number; outFeatures: number; adapter: string }>();
  for (const adapter of adapters) {
    for (const [weight, matrix] of adapter.matrices) {
      const known = shapes.get(weight);
      if (!known) {
        shapes.set(weight, { inFeatures: matrix.inFeatures, outFeatures: matrix.outFeatures, adapter: adapter.name });
        continue;
      }
      if (known.inFeatures !== matrix.inFeatures || known.outFeatures !== matrix.outFeatures) {
        throw new AdapterMismatchError(
          adapter.name,
          weight,
          `[${known.outFeatures}, ${known.inFeatures}] as in adapter ${known.adapter}`,
          `[${matrix.outFeatures}, ${matrix.inFeatures}]`,
          "the adapters of one batch give this weight different shapes",
        );
      }
    }
  }

  const sets = new Map<string, LoraAdapterSet>();
  for (const [weight, shape] of shapes) {
    const slots = adapters.map((adapter) => adapter.matrices.get(weight));
    sets.set(weight, LoraAdapterSet.create(ctx, { k: shape.inFeatures, n: shape.outFeatures, slots, label: `lora.${weight}` }));
  }
  return sets;
}

/** Consecutive rows of x that use one adapter slot, or no adapter when `slot` is -1. */
export interface LoraSegment {
  rowStart: number;
  rowCount: number;
  /** Index into every LoraAdapterSet of the batch, or -1 to leave the rows without an adapter. */
  slot: number;
}

export interface LoraRowTilesOptions {
  /** Rows of x and y. */
  m: number;
  /** Non-overlapping segments inside [0, m), in any order. Rows outside every segment get no adapter. */
  segments: readonly LoraSegment[];
  label?: string;
}

/** The segments of one batch cut into tiles of at most LORA_TILE_ROWS rows of one slot, uploaded. */
export class LoraRowTiles {
  private constructor(
    private readonly ctx: GPUContext,
    readonly label: string,
    readonly m: number,
    readonly tileCount: number,
    /** Largest slot any tile uses, or -1 without tiles. */
    readonly maxSlot: number,
    /** [tileCount] x { rowStart u32, rowCount u32, slot u32 }. */
    readonly tiles: GPUBuffer,
  ) {}

  /** Checks the segments, cuts them into tiles and uploads the tile table. */
  static create(ctx: GPUContext, options: LoraRowTilesOptions): LoraRowTiles {
    const label = options.label ?? "lora.tiles";
    const table = loraTileTable(options.m, options.segments, label);
    const tileCount = table.length / 3;
    let maxSlot = -1;
    for (let tile = 0; tile < tileCount; tile++) maxSlot = Math.max(maxSlot, table[tile * 3 + 2]!);

    const limit = ctx.limits.maxComputeWorkgroupsPerDimension;
    if (tileCount > limit) {
      throw new InvalidInputError(`${label}: the segments make ${tileCount} row tiles but the expand kernel dispatches at most ${limit}; split the batch`);
    }
    return new LoraRowTiles(ctx, label, options.m, tileCount, maxSlot, ctx.createStorageBuffer(label, table));
  }

  /** Destroys the tile table. */
  dispose(): void {
    this.ctx.destroyBuffer(this.tiles);
  }
}

/**
 * Returns the tile table [tileCount * 3] u32 of (rowStart, rowCount, slot) for segments over m
 * rows. Segments with slot -1 or no rows produce no tile. Throws InvalidInputError for a segment
 * outside [0, m), an overlap, or a slot below -1.
 */
export function loraTileTable(m: number, segments: readonly LoraSegment[], label = "lora.tiles"): Uint32Array {
  checkPositiveInteger(label, "m", m);
  const covered = new Uint8Array(m);
  const table: number[] = [];

  segments.forEach((segment, index) => {
    const { rowStart, rowCount, slot } = segment;
    const where = `${label}: segment ${index} (rowStart ${rowStart}, rowCount ${rowCount}, slot ${slot})`;
    if (!Number.isInteger(rowStart) || !Number.isInteger(rowCount) || rowStart < 0 || rowCount < 0 || rowStart + rowCount > m) {
      throw new InvalidInputError(`${where} is outside the ${m} rows of x; pass integer rows inside [0, ${m})`);
    }
    if (!Number.isInteger(slot) || slot < -1) {
      throw new InvalidInputError(`${where}: slot must be an adapter slot index or -1 for no adapter`);
    }
    for (let row = rowStart; row < rowStart + rowCount; row++) {
      if (covered[row]) throw new InvalidInputError(`${where} overlaps an earlier segment at row ${row}; each row takes at most one adapter`);
      covered[row] = 1;
    }

    if (slot === -1) return;
    for (let start = rowStart; start < rowStart + rowCount; start += LORA_TILE_ROWS) {
      table.push(start, Math.min(LORA_TILE_ROWS, rowStart + rowCount - start), slot);
    }
  });
  return Uint32Array.from(table);
}

/** Returns the byte size of the scratch buffer t [m, set.maxRank] f32. */
export function loraScratchBytes(m: number, set: LoraAdapterSet): number {
  return m * set.maxRank * 4;
}

export interface LoraOptions {
  /** Activations [m, k] f32, the input of the projection. */
  x: GPUBuffer;
  /** Projection output [m, n] f32 holding x W^T, updated in place. */
  y: GPUBuffer;
  /** Scratch [m, set.maxRank] f32, see loraScratchBytes(); overwritten. */
  scratch: GPUBuffer;
  set: LoraAdapterSet;
  tiles: LoraRowTiles;
}

/**
 * Returns the shrink and expand dispatches that add every tile's adapter delta to y, or no
 * dispatch when no tile has an adapter with a nonzero rank for this projection. The two must run
 * in this order, each after the matmul that writes y.
 */
export function loraDispatches(ctx: GPUContext, options: LoraOptions): KernelDispatch[] {
  const { x, y, scratch, set, tiles } = options;
  checkLoraInputs(ctx, options);
  if (tiles.tileCount === 0 || set.maxRank === 0) return [];

  const params = new UniformWriter().u32(set.k).u32(set.n).u32(set.maxRank).u32(tiles.tileCount).finish();
  const constants = { WORKGROUP_SIZE: LORA_WORKGROUP_SIZE };
  const columnBlocks = Math.ceil(set.n / LORA_WORKGROUP_SIZE);
  if (columnBlocks > ctx.limits.maxComputeWorkgroupsPerDimension) {
    throw new InvalidInputError(`${set.label}: n = ${set.n} needs ${columnBlocks} column workgroups, more than the device's ${ctx.limits.maxComputeWorkgroupsPerDimension}`);
  }

  // Shapes: x [m, k], t [m, maxRank], y [m, n].
  const shrink: KernelDispatch = {
    pipeline: { kernel: "lora_shrink", constants },
    params,
    buffers: [x, set.a, set.slots, tiles.tiles, scratch],
    workgroups: grid2D(tiles.tileCount, ctx.limits.maxComputeWorkgroupsPerDimension),
  };
  const expand: KernelDispatch = {
    pipeline: { kernel: "lora_expand", constants },
    params,
    buffers: [scratch, set.b, set.slots, tiles.tiles, y],
    workgroups: [columnBlocks, tiles.tileCount],
  };
  return [shrink, expand];
}

/** Runs loraDispatches() and resolves when the GPU accepted the work. */
export async function applyLora(ctx: GPUContext, options: LoraOptions): Promise<void> {
  const dispatches = loraDispatches(ctx, options);
  if (dispatches.length > 0) await ctx.run(dispatches, `lora ${options.set.label}`);
}

function checkLoraInputs(ctx: GPUContext, options: LoraOptions): void {
  const { x, y, scratch, set, tiles } = options;
  const m = tiles.m;
  const label = set.label;

  if (tiles.maxSlot >= set.slotCount) {
    throw new InvalidInputError(
      `${label}: ${tiles.label} uses slot ${tiles.maxSlot} but the adapter set has ${set.slotCount} slots; ` +
        "give every LoraAdapterSet of the batch one entry per adapter slot, undefined where the adapter does not target the projection",
    );
  }
  const available = ctx.limits.maxStorageBuffersPerShaderStage;
  if (available < LORA_STORAGE_BINDINGS) {
    throw new DeviceLimitsError(
      "maxStorageBuffersPerShaderStage",
      LORA_STORAGE_BINDINGS,
      available,
      `${label}: the LoRA kernels bind ${LORA_STORAGE_BINDINGS} storage buffers but the device allows ${available}; use a device with the WebGPU default of 8`,
    );
  }

  const sizes = [
    ["x", x, m * set.k * 4, `[${m}, ${set.k}] f32`],
    ["y", y, m * set.n * 4, `[${m}, ${set.n}] f32`],
    ["scratch", scratch, loraScratchBytes(m, set), `[${m}, ${set.maxRank}] f32`],
  ] as const;
  for (const [field, buffer, bytes, shape] of sizes) {
    if (buffer.size < bytes) {
      throw new InvalidInputError(`${label}: ${field} buffer "${buffer.label}" has ${buffer.size} bytes but ${shape} needs ${bytes}; allocate it with that size`);
    }
    checkBindingSize(ctx, label, field, bytes);
  }
}

function checkSlotWeights(label: string, index: number, slot: LoraSlotWeights, k: number, n: number): void {
  const where = `${label}: slot ${index}`;
  if (!Number.isInteger(slot.rank) || slot.rank < 1) {
    throw new InvalidInputError(`${where}: rank = ${slot.rank} is invalid; pass a positive integer, or undefined for a slot without matrices`);
  }
  if (slot.a.length < slot.rank * k) {
    throw new InvalidInputError(`${where}: A has ${slot.a.length} values but [${slot.rank}, ${k}] needs ${slot.rank * k}; check the adapter's rank and the projection's input features`);
  }
  if (slot.b.length < n * slot.rank) {
    throw new InvalidInputError(`${where}: B has ${slot.b.length} values but [${n}, ${slot.rank}] needs ${n * slot.rank}; check the adapter's rank and the projection's output features`);
  }
  if (!Number.isFinite(slot.scale)) {
    throw new InvalidInputError(`${where}: scale = ${slot.scale} is not finite; pass alpha / rank times the adapter weight`);
  }
}

function checkPositiveInteger(label: string, name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidInputError(`${label}: ${name} = ${value} is invalid; pass a positive integer`);
  }
}

function checkBindingSize(ctx: GPUContext, label: string, field: string, bytes: number): void {
  const limit = ctx.limits.maxStorageBufferBindingSize;
  if (bytes > limit) {
    throw new DeviceLimitsError(
      "maxStorageBufferBindingSize",
      bytes,
      limit,
      `${label}: ${field} needs a ${bytes}-byte binding but the device allows ${limit}; use fewer adapters or rows per batch`,
    );
  }
}
