using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)).</summary>
internal sealed class LlamaMlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")] Linear _gate;
    [ComponentName(Name = "up_proj")] Linear _up;
    [ComponentName(Name = "down_proj")] Linear _down;

    public LlamaMlp(ModelConfig config, Device? device) : base(nameof(LlamaMlp))
    {
        _gate = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false, device: device);
        _up = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false, device: device);
        _down = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: false, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x /* (B, T, C) */)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.silu(_gate.forward(x)) * _up.forward(x); // (B, T, I)
        return scope.MoveToOuter(_down.forward(h));
    }
}
