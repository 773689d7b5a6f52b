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
    public static AdamW AdamW(nn.Module model, double learningRate, double beta1, double beta2, double weightDecay)
    {
        var all = model.parameters().ToList();
        var groups = new[]
        {
            new AdamW.ParamGroup(all.Where(p => p.dim() >= 2).ToList(), new AdamW.Options { weight_decay = weightDecay }),
            new AdamW.ParamGroup(all.Where(p => p.dim() < 2).ToList(), new AdamW.Options { weight_decay = 0.0 }),
        };
        return optim.AdamW(groups, learningRate, beta1, beta2, eps: 1e-8, weight_decay: weightDecay);
    }
}
