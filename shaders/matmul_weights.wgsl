// Selects the weight decoder for the WEIGHT_* define a matmul pipeline is built with. Each
// decoder defines decode_group8(row, group) -> Weights8 over the repacked layout it documents.

#if WEIGHT_F32
#include "quant_f32"
#endif
#if WEIGHT_F16
#include "quant_f16"
#endif
#if WEIGHT_Q8_0
#include "quant_q8_0"
#endif
#if WEIGHT_Q4_0
#include "quant_q4_0"
#endif
#if WEIGHT_Q4_K
#include "quant_q4_k"
#endif
#if WEIGHT_Q6_K
#include "quant_q6_k"
#endif
