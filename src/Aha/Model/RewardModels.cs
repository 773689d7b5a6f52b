using TorchSharp;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// Reward models (and PPO's value model): a causal LM's trunk with the scalar <c>score</c> head of transformers'
/// <c>*ForSequenceClassification</c>, built from a causal LM and scored in right-padded batches.
/// </summary>
public static class RewardModels
{
    /// <summary>
    /// A reward model with <paramref name="lm"/>'s trunk (every <c>model.*</c> weight copied) and a fresh head drawn
    /// N(0, 0.02) from the global torch RNG, as transformers initialises <c>score</c> (seed it first for a repeatable run).
    /// A config without <c>pad_token_id</c> (Qwen, Llama 3) gets <paramref name="padId"/>, the tokenizer's padding id.
    /// </summary>
    public static LlamaModel FromCausalLm(LlamaModel lm, int padId)
    {
        ArgumentNullException.ThrowIfNull(lm);
        if (lm.Config.SequenceClassification) throw new ArgumentException("the model already is a reward model (it has a score head).", nameof(lm));
        var config = lm.Config with { SequenceClassification = true, PadTokenId = lm.Config.PadTokenId ?? padId };
        var first = lm.parameters().First();
        var rm = new LlamaModel(config, first.device);
        rm.to(first.dtype);
        Copy(lm, rm, name => name.StartsWith("model.", StringComparison.Ordinal));
        return rm;
    }

    /// <summary>A second model of <paramref name="source"/>'s shape, dtype and device with its weights (PPO's value model from the RM, its frozen reference).</summary>
    public static LlamaModel Clone(LlamaModel source)
    {
        var first = source.parameters().First();
        var copy = new LlamaModel(source.Config, first.device, initialize: false);
        copy.to(first.dtype);
        Copy(source, copy, _ => true);
        return copy;
    }

    static void Copy(LlamaModel from, LlamaModel to, Func<string, bool> which)
    {
        using var noGrad = no_grad();
        var source = from.state_dict();
        foreach (var (name, tensor) in to.state_dict())
            if (which(name)) tensor.copy_(source[name]);
    }

    /// <summary>Rows right-padded with <paramref name="padId"/> to the longest: (B, L) int64.</summary>
    public static Tensor RightPadded(IReadOnlyList<IReadOnlyList<int>> rows, int padId, Device device)
    {
        int width = Math.Max(1, rows.Max(r => r.Count));
        var ids = new long[rows.Count * width];
        Array.Fill(ids, (long)padId);
        for (int i = 0; i < rows.Count; i++)
            for (int t = 0; t < rows[i].Count; t++) ids[i * width + t] = rows[i][t];
        return tensor(ids, [rows.Count, width], device: device);
    }

    /// <summary>The reward of each row (no gradients), <paramref name="batchSize"/> rows per forward.</summary>
    public static float[] Score(LlamaModel rm, IReadOnlyList<IReadOnlyList<int>> rows, int batchSize = 16)
    {
        var scores = new float[rows.Count];
        var device = rm.parameters().First().device;
        bool training = rm.training;
        rm.eval();
        for (int start = 0; start < rows.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var chunk = rows.Skip(start).Take(batchSize).ToList();
            var values = rm.Scores(RightPadded(chunk, rm.Config.PadTokenId!.Value, device)).cpu().data<float>().ToArray();
            values.CopyTo(scores, start);
        }
        if (training) rm.train();
        return scores;
    }
}
