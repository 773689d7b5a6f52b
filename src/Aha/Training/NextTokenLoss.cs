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

    /// <summary>
    /// <see cref="Sum"/> for a DeepSeek-V3 model, plus its auxiliary losses: the weighted MTP and balance losses are means,
    /// so they come back multiplied by the batch's scored tokens; the trainer's division by the step's scored tokens then
    /// weights every micro-batch as <see cref="Sum"/> does. Returns (main + auxiliary, main, MTP, balance), all summed.
    /// </summary>
    /// <param name="mtpWeight">λ; 0 skips the MTP modules</param>
    /// <param name="balanceWeight">α; 0 skips the balance loss</param>
    public static (Tensor Total, Tensor Main, Tensor Mtp, Tensor Balance) SumWithAuxiliary(LlamaModel model, TrainingBatch batch,
        double mtpWeight, double balanceWeight)
    {
        using var scope = NewDisposeScope();
        var device = model.parameters().First().device;
        var inputs = tensor(batch.Inputs, [batch.BatchSize, batch.Length], device: device);           // (B, T)
        var targets = tensor(batch.MaskedTargets(), [batch.BatchSize, batch.Length], device: device); // (B, T)
        var output = model.ForwardWithLosses(inputs, targets, mtpWeight, balanceWeight, ignoreIndex: IgnoreIndex);
        var main = nn.functional.cross_entropy(output.Logits.view(-1, output.Logits.shape[2]).to(float32), targets.view(-1),
            ignore_index: IgnoreIndex, reduction: nn.Reduction.Sum);
        double scored = batch.ScoredTokens;
        var mtp = output.MtpLoss * scored;
        var balance = output.BalanceLoss * scored;
        var total = main + mtp + balance;
        scope.MoveToOuter(total, main, mtp, balance);
        return (total, main, mtp, balance);
    }
}
