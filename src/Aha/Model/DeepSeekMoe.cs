using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// DeepSeekMoE (Hugging Face <c>DeepseekV3MoE</c>): always-on shared experts plus fine-grained routed experts, each token
/// sent to its top-k. Work is batched by expert — the tokens routed to an expert are gathered, run as one matrix, weighted
/// by their gates and scattered back with <c>index_add_</c> — so the loop is over experts, never over tokens.
/// </summary>
internal sealed class DeepSeekMoe : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "experts")] ModuleList<LlamaMlp> _experts;
    [ComponentName(Name = "gate")] TopkRouter _gate;
    [ComponentName(Name = "shared_experts")] LlamaMlp? _shared; // n_shared_experts fused into one MLP, as Hugging Face stores them
    readonly int _topK;

    public DeepSeekMoe(ModelConfig config, Device? device) : base(nameof(DeepSeekMoe))
    {
        int width = config.MoeIntermediateSize!.Value;
        _experts = nn.ModuleList(Enumerable.Range(0, config.NRoutedExperts!.Value).Select(_ => new LlamaMlp(config.HiddenSize, width, device)).ToArray());
        _gate = new TopkRouter(config, device);
        if (config.NSharedExperts > 0) _shared = new LlamaMlp(config.HiddenSize, (long)width * config.NSharedExperts, device);
        _topK = config.NumExpertsPerTok!.Value;
        RegisterComponents();
    }

    public TopkRouter Router => _gate;

    public override Tensor forward(Tensor x) => forward(x, null);

    /// <param name="x">(B, T, C)</param>
    /// <param name="losses">when given, receives this layer's sequence-wise balance loss</param>
    public Tensor forward(Tensor x, RouterLosses? losses)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], c = x.shape[2];
        var flat = x.reshape(b * t, c);                                                // (N, C)
        var (indices, gates, scores) = _gate.forward(flat);                           // (N, K), (N, K), (N, E)
        var expertOfSlot = indices.reshape(-1);                                        // (N·K) slot s belongs to token s / K
        var order = expertOfSlot.sort(stable: true).Item2;                             // (N·K) slots grouped by expert
        var tokenOfSlot = order.div(_topK, rounding_mode: RoundingMode.floor);         // (N·K)
        var gateOfSlot = gates.reshape(-1).index_select(0, order).to(x.dtype);         // (N·K)
        long[] counts = expertOfSlot.bincount(null, _gate.Experts).data<long>().ToArray(); // (E) on the host: sizes the gathers
        _gate.Record(counts);

        var routed = zeros_like(flat);                                                 // (N, C)
        long offset = 0;
        for (int e = 0; e < counts.Length; e++)
        {
            if (counts[e] == 0) continue;
            var tokens = tokenOfSlot.narrow(0, offset, counts[e]);                     // (n_e)
            var y = _experts[e].forward(flat.index_select(0, tokens));                 // (n_e, C)
            routed.index_add_(0, tokens, y * gateOfSlot.narrow(0, offset, counts[e]).unsqueeze(1), 1);
            offset += counts[e];
        }
        var output = routed.view(b, t, c);                                             // (B, T, C)
        if (_shared is not null) output = output + _shared.forward(x);
        if (losses is not null) losses.Add(BalanceLoss(scores.view(b, t, -1), indices.view(b, t, _topK)));
        return scope.MoveToOuter(output);
    }

    // DeepSeek-V3 eq. 17–20: Σ_i f_i·P_i per sequence, f_i = E/(K·T)·(tokens choosing i), P_i = mean over t of s_i,t / Σ_j s_j,t.
    // 1 when balanced; the caller multiplies by α. Pads count as tokens (the layer does not see the attention mask).
    Tensor BalanceLoss(Tensor scores /* (B, T, E) */, Tensor indices /* (B, T, K) */)
    {
        using var scope = NewDisposeScope();
        long t = scores.shape[1], experts = scores.shape[2];
        var chosen = zeros_like(scores).scatter_(2, indices, ones_like(indices, dtype: scores.dtype)).sum(1); // (B, E)
        var f = chosen * ((double)experts / (_topK * t));                                                     // (B, E)
        var p = (scores / scores.sum(-1, keepdim: true)).mean([1]);                                          // (B, E)
        return scope.MoveToOuter((f * p).sum(-1).mean());
    }
}
