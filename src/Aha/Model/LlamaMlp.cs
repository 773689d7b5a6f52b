using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)). Also each DeepSeekMoE expert and the fused shared experts.</summary>
internal sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")] Linear _gate;
    [ComponentName(Name = "up_proj")] Linear _up;
    [ComponentName(Name = "down_proj")] Linear _down;

    /// <param name="intermediate">intermediate_size for a dense layer; moe_intermediate_size (× n_shared_experts) for experts</param>
    /// <param name="bias">llama's mlp_bias: a bias on each of the three projections</param>
    public LlamaMlp(long hidden, long intermediate, Device? device, bool bias = false) : base(nameof(LlamaMlp))
    {
        _gate = nn.Linear(hidden, intermediate, hasBias: bias, device: device);
        _up = nn.Linear(hidden, intermediate, hasBias: bias, device: device);
        _down = nn.Linear(intermediate, hidden, hasBias: bias, device: device);
        RegisterComponents();
    }

    /// <summary>This block's LoRA adapters, if a LoRA run attached them (not part of the model's state dict).</summary>
    public LoraLayer? Lora { get; set; }

    /// <summary>The three projections by Hugging Face module name: what LoRA can target and merge into.</summary>
    public IEnumerable<(string Name, Linear Layer)> Projections => [("gate_proj", _gate), ("up_proj", _up), ("down_proj", _down)];

    /// <summary>The weights the fused decode path reads.</summary>
    internal (Linear Gate, Linear Up, Linear Down) Parts => (_gate, _up, _down);

    public override Tensor forward(Tensor x /* (…, C) */)
    {
        using var scope = NewDisposeScope();
        Tensor h;                                                                // (…, I)
        var lora = Lora is { Enabled: true } ? Lora : null;
        if (SkinnyLinear.TryFused(x, _gate, _up) is { } gateUp)                  // a decode step: (…, 2·I) from one kernel call
        {
            long intermediate = gateUp.shape[^1] / 2;
            // LoRA's terms are added after the fused base projections (the kernel's sums stay the base's).
            if (lora?.FusedDelta(x, training, ("gate_proj", intermediate), ("up_proj", intermediate)) is { } delta) gateUp = gateUp + delta.to(gateUp.dtype);
            long width = gateUp.shape[^1] / 2;
            h = nn.functional.silu(gateUp.narrow(-1, 0, width)) * gateUp.narrow(-1, width, width);
        }
        // Not fused for many rows: SiLU and its backward on strided halves of one (…, 2·I) tensor made a training step
        // ~15% slower (measured, dev/LOG.md).
        else if (lora is null) h = nn.functional.silu(SkinnyLinear.Forward(_gate, x)) * SkinnyLinear.Forward(_up, x);
        else h = nn.functional.silu(lora.Apply("gate_proj", x, SkinnyLinear.Forward(_gate, x), training))
            * lora.Apply("up_proj", x, SkinnyLinear.Forward(_up, x), training);
        var output = SkinnyLinear.Forward(_down, h);
        return scope.MoveToOuter(lora is null ? output : lora.Apply("down_proj", h, output, training));
    }
}
