using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// What a training step needs from one forward: the main logits, for the trainer's own next-token loss, plus the
/// already-weighted auxiliary losses to add to it. Scalars are float32 zeros when their feature is off.
/// </summary>
/// <param name="Logits">(B, T, V), exactly what <see cref="LlamaModel.forward"/> returns</param>
/// <param name="MtpLoss">λ/D · Σ_k cross-entropy of MTP module k, which predicts token i+k+1 at position i</param>
/// <param name="BalanceLoss">α · Σ over MoE layers of DeepSeek-V3's sequence-wise balance loss</param>
public sealed record TrainingForward(Tensor Logits, Tensor MtpLoss, Tensor BalanceLoss);
