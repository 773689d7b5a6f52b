using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>Cross-entropy of the next token, summed over the scored targets of a batch.</summary>
public static class NextTokenLoss
{
    /// <summary>The target id that cross-entropy skips (PyTorch's default ignore_index).</summary>
    public const long IgnoreIndex = -100;

    /// <summary>
    /// Summed (not averaged) loss over the batch's scored targets, a scalar. Summing lets a step with several
    /// micro-batches divide by the step's total scored tokens once, which makes accumulation exact for ragged SFT batches.
    /// </summary>
    public static Tensor Sum(LlamaModel model, TrainingBatch batch)
    {
        using var scope = NewDisposeScope();
        var device = model.parameters().First().device;
        var inputs = tensor(batch.Inputs, [batch.BatchSize, batch.Length], device: device);   // (B, T)
        var targets = tensor(batch.MaskedTargets(), [batch.BatchSize * batch.Length], device: device); // (B·T)
        var logits = model.forward(inputs);                                                    // (B, T, V)
        var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[2]).to(float32), targets,
            ignore_index: IgnoreIndex, reduction: nn.Reduction.Sum);
        return scope.MoveToOuter(loss);
    }
}
