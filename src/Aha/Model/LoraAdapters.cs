using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Aha.Model;

/// <summary>
/// The LoRA adapters of a <see cref="LlamaModel"/> (see <see cref="LoraConfig"/>): the only trainable parameters of a
/// LoRA run. Kept outside the model's own state dict, so the base checkpoint's keys never change; saved under PEFT's
/// key names (<see cref="PeftKey"/>). Adapters are fp32 whatever the base's dtype (PEFT's autocast_adapter_dtype).
/// </summary>
public sealed class LoraAdapters : nn.Module
{
    [ComponentName(Name = "layers")] ModuleList<LoraLayer> _layers;

    internal LoraAdapters(IReadOnlyList<IReadOnlyDictionary<string, (long In, long Out)>> shapes, LoraConfig config, Device? device)
        : base(nameof(LoraAdapters))
    {
        Config = config.Validate();
        _layers = nn.ModuleList(shapes.Select(s => new LoraLayer(s, config, device)).ToArray());
        RegisterComponents();
    }

    public LoraConfig Config { get; }

    internal LoraLayer Layer(int index) => _layers[index];

    /// <summary>
    /// Off: every projection computes the base W x alone (GRPO's KL reference without a second model). On by default.
    /// </summary>
    public bool Enabled
    {
        get => _layers.All(l => l.Enabled);
        set { foreach (var layer in _layers) layer.Enabled = value; }
    }

    /// <summary>Turns the adapters off until the result is disposed (then back to what they were).</summary>
    public IDisposable Disabled()
    {
        bool was = Enabled;
        Enabled = false;
        return new Restore(() => Enabled = was);
    }

    sealed class Restore(Action action) : IDisposable { public void Dispose() => action(); }

    /// <summary>PEFT's name for a tensor: <c>base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight</c>.</summary>
    public static string PeftKey(int layer, string target, string matrix) =>
        $"base_model.model.model.layers.{layer}.{LoraConfig.Block(target)}.{target}.{matrix}.weight";

    /// <summary>Every adapter tensor under its PEFT key, in layer then target order (the live parameters: do not dispose).</summary>
    public Dictionary<string, Tensor> PeftStateDict()
    {
        var result = new Dictionary<string, Tensor>();
        for (int i = 0; i < _layers.Count; i++)
            foreach (var (target, adapter) in _layers[i].Adapters)
            {
                result[PeftKey(i, target, "lora_A")] = adapter.A;
                result[PeftKey(i, target, "lora_B")] = adapter.B;
            }
        return result;
    }

    /// <summary>Copies tensors saved under PEFT keys into the adapters; throws listing missing, unexpected or misshapen keys.</summary>
    public void LoadPeft(IReadOnlyDictionary<string, Tensor> saved, string source)
    {
        var target = PeftStateDict();
        var problems = new List<string>();
        foreach (var (key, tensor) in target)
            if (!saved.TryGetValue(key, out var value)) problems.Add($"missing {key}");
            else if (!value.shape.SequenceEqual(tensor.shape))
                problems.Add($"{key} has shape [{string.Join(", ", value.shape)}], the adapter needs [{string.Join(", ", tensor.shape)}]");
        foreach (var key in saved.Keys.Where(k => !target.ContainsKey(k))) problems.Add($"unexpected {key}");
        if (problems.Count > 0)
            throw new InvalidDataException($"{source} does not fit this base model with r {Config.Rank} on {string.Join(",", Config.Targets)}: " +
                $"{string.Join("; ", problems.Take(5))}{(problems.Count > 5 ? $" (and {problems.Count - 5} more)" : "")}. Load the adapter onto the base model it was trained on.");
        using var noGrad = no_grad();
        foreach (var (key, tensor) in target) tensor.copy_(saved[key]);
    }
}

/// <summary>One decoder layer's adapters, by target module name.</summary>
internal sealed class LoraLayer : nn.Module
{
    readonly Dictionary<string, LoraLinear> _adapters = [];
    readonly double _scaling, _dropout;

    public LoraLayer(IReadOnlyDictionary<string, (long In, long Out)> shapes, LoraConfig config, Device? device) : base(nameof(LoraLayer))
    {
        (_scaling, _dropout) = (config.Scaling, config.Dropout);
        foreach (var target in LoraConfig.AllTargets.Where(config.Targets.Contains))
        {
            var (inFeatures, outFeatures) = shapes[target];
            var adapter = new LoraLinear(inFeatures, outFeatures, config.Rank, device);
            register_module(target, adapter);
            _adapters[target] = adapter;
        }
    }

    public bool Enabled { get; set; } = true;

    public IEnumerable<(string Target, LoraLinear Adapter)> Adapters =>
        LoraConfig.AllTargets.Where(_adapters.ContainsKey).Select(t => (t, _adapters[t]));

    /// <summary>y + (α/r)·B(A dropout(x)) for <paramref name="target"/>, or y unchanged when it has no adapter or adapters are off.</summary>
    /// <param name="x">(…, in) the projection's input</param>
    /// <param name="y">(…, out) the base projection's output</param>
    public Tensor Apply(string target, Tensor x, Tensor y, bool training)
    {
        if (!Enabled || !_adapters.TryGetValue(target, out var adapter)) return y;
        return y + Delta(adapter, x, training).to(y.dtype);
    }

    /// <summary>The adapters' terms of several projections side by side (…, out₁ + out₂ + …), zeros for one without an adapter; null when none applies.</summary>
    public Tensor? FusedDelta(Tensor x, bool training, params (string Target, long Width)[] parts)
    {
        if (!Enabled || !parts.Any(p => _adapters.ContainsKey(p.Target))) return null;
        using var scope = NewDisposeScope();
        var pieces = parts.Select(p => _adapters.TryGetValue(p.Target, out var a) ? Delta(a, x, training)
            : zeros([.. x.shape[..^1], p.Width], float32, x.device)).ToArray();
        return scope.MoveToOuter(cat(pieces, -1));
    }

    Tensor Delta(LoraLinear adapter, Tensor x, bool training)
    {
        using var scope = NewDisposeScope();
        var input = x.to(float32);                                                  // (…, in) adapters are fp32
        if (_dropout > 0) input = nn.functional.dropout(input, _dropout, training);
        var low = nn.functional.linear(input, adapter.A);                           // (…, r)
        return scope.MoveToOuter(nn.functional.linear(low, adapter.B) * _scaling);  // (…, out)
    }
}

/// <summary>A (r, in) and B (out, r) of one projection, named lora_A / lora_B as PEFT's modules are.</summary>
internal sealed class LoraLinear : nn.Module
{
    [ComponentName(Name = "lora_A")] Linear _a;
    [ComponentName(Name = "lora_B")] Linear _b;

    public LoraLinear(long inFeatures, long outFeatures, int rank, Device? device) : base(nameof(LoraLinear))
    {
        _a = nn.Linear(inFeatures, rank, hasBias: false, device: device, dtype: float32);
        _b = nn.Linear(rank, outFeatures, hasBias: false, device: device, dtype: float32);
        RegisterComponents();
        using var noGrad = no_grad();
        nn.init.kaiming_uniform_(_a.weight!, a: Math.Sqrt(5)); // PEFT's init_lora_weights=True
        _b.weight!.zero_();                                     // so the adapted model starts as the base
    }

    public Tensor A => _a.weight!;
    public Tensor B => _b.weight!;
}
