using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace Aha.Training;

/// <summary>The one AdamW every trainer uses.</summary>
public static class Optimizers
{
    /// <summary>
    /// AdamW over <paramref name="model"/>'s parameters in two groups: matrices decay, norm gains and biases do not
    /// (decay pulls weights toward zero; a gain of zero is not a simpler model), as in nanoGPT/nanochat. With weight
    /// decay 0 both groups get the same update as one group would: AdamW's update of a parameter reads only that
    /// parameter's gradient and moments, so grouping changes nothing numerically.
    /// </summary>
    /// <remarks>
    /// Every trained parameter must be float32: AdamW keeps its moments in the parameter's dtype and adds the update to
    /// it there, and a bfloat16 weight (8 significant bits) drops any update below half its spacing — at a learning rate
    /// of 1e-6 that is every weight above about 2.4e-4 in magnitude, so a full fine-tune in bfloat16 silently does not
    /// train (measured by OptimizerPrecisionTests). Mixed precision's answer is float32 masters and moments; Aha's is
    /// float32 compute for a full fine-tune, or LoRA, whose adapters are float32 on a bfloat16 base.
    /// </remarks>
    public static AdamW AdamW(nn.Module model, double learningRate, double beta1, double beta2, double weightDecay)
    {
        var all = model.parameters().ToList();
        if (all.FirstOrDefault(p => p.dtype != ScalarType.Float32) is { } narrow)
            throw new ArgumentException(
                $"the trained parameters are {narrow.dtype}, but AdamW updates and its moments need float32: in {narrow.dtype} updates smaller than the " +
                "weights' spacing are lost (at --lr 1e-6, nearly all of them). Train with --dtype float32 (the checkpoint still saves in its torch_dtype), " +
                "or with --lora-rank R, whose float32 adapters train on a bfloat16 base.", nameof(model));
        var groups = new[]
        {
            new AdamW.ParamGroup(all.Where(p => p.dim() >= 2).ToList(), new AdamW.Options { weight_decay = weightDecay }),
            new AdamW.ParamGroup(all.Where(p => p.dim() < 2).ToList(), new AdamW.Options { weight_decay = 0.0 }),
        };
        return optim.AdamW(groups, learningRate, beta1, beta2, eps: 1e-8, weight_decay: weightDecay);
    }
}
