using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// DeepSeek-V3's router (Hugging Face <c>DeepseekV3TopkRouter</c>, one group): affinity s = σ(W·x); experts are chosen as the
/// top-k of s + b, where the bias b exists only to balance load, and gated by s alone, normalised over the chosen experts.
/// </summary>
internal sealed class TopkRouter : nn.Module
{
    [ComponentName(Name = "weight")] Parameter _weight;              // (E, C)
    // A buffer, not a parameter: gradients never move it; UpdateBias does, from measured load (auxiliary-loss-free balancing).
    [ComponentName(Name = "e_score_correction_bias")] Tensor _bias;  // (E)
    readonly int _topK;
    readonly bool _normalize;
    readonly double _scaling;
    readonly long[] _load; // tokens per expert since the last UpdateBias, counted in training forwards only

    public TopkRouter(ModelConfig config, Device? device) : base(nameof(TopkRouter))
    {
        int experts = config.NRoutedExperts!.Value;
        _weight = nn.Parameter(empty(experts, config.HiddenSize, device: device));
        _bias = zeros(experts, device: device);
        (_topK, _normalize, _scaling) = (config.NumExpertsPerTok!.Value, config.NormTopkProb, config.RoutedScalingFactor);
        _load = new long[experts];
        RegisterComponents();
    }

    public int Experts => _load.Length;

    /// <summary>Chosen experts (N, K), their gate values (N, K) and every affinity (N, E), all from x (N, C); gates and affinities in float32.</summary>
    public (Tensor Indices, Tensor Gates, Tensor Scores) forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var scores = nn.functional.linear(x.to(float32), _weight.to(float32)).sigmoid(); // (N, E) in float32, as Hugging Face does
        var choice = scores.detach() + _bias.to(float32).unsqueeze(0);                  // (N, E) the bias only picks
        var indices = choice.topk(_topK, dim: -1).Item2;                                  // (N, K)
        var gates = scores.gather(1, indices);                                            // (N, K) the gate ignores the bias
        if (_normalize) gates = gates / (gates.sum(-1, keepdim: true) + 1e-20);
        if (_scaling != 1.0) gates = gates * _scaling;
        return scope.MoveToOuter(indices, gates, scores);
    }

    /// <summary>Adds one forward's per-expert token counts to the load, if this forward trains (autograd on).</summary>
    public void Record(long[] tokensPerExpert)
    {
        if (!is_grad_enabled()) return; // sampling and evaluation must not steer the balance
        for (int e = 0; e < _load.Length; e++) _load[e] += tokensPerExpert[e];
    }

    public long[] Load => (long[])_load.Clone();

    /// <summary>b_i −= γ for experts above the mean load, += γ below it; then forgets the load. Returns the load it used.</summary>
    public long[] UpdateBias(double gamma)
    {
        var load = Load;
        Array.Clear(_load);
        double mean = load.Average();
        if (gamma == 0) return load;
        var step = load.Select(n => n > mean ? -gamma : n < mean ? gamma : 0.0).ToArray();
        using var noGrad = no_grad();
        using var delta = tensor(step, dtype: _bias.dtype, device: _bias.device);
        _bias.add_(delta);
        return load;
    }
}
