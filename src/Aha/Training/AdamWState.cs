using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Aha.Training;

/// <summary>
/// Maps TorchSharp's AdamW state (one <see cref="AdamW.State"/> per parameter, held by native handle) to and from
/// named tensors <c>{param}.exp_avg</c>, <c>{param}.exp_avg_sq</c> and <c>{param}.step</c> — PyTorch's per-parameter
/// state keys — so optimizer.safetensors is readable anywhere and a resumed run continues the same moments.
/// </summary>
/// <remarks>TorchSharp's own <c>save_state_dict</c> writes a private binary format tied to parameter order; names survive refactors.</remarks>
public static class AdamWState
{
    /// <summary>
    /// The moments of every parameter of <paramref name="model"/> that <paramref name="optimizer"/> updates. The
    /// <c>exp_avg*</c> entries are the optimizer's live tensors (do not dispose them); the <c>step</c> entries are new
    /// int64 scalars owned by the caller's dispose scope.
    /// </summary>
    public static Dictionary<string, Tensor> Export(AdamW optimizer, nn.Module model)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, state) in Named(optimizer, model))
        {
            result[$"{name}.exp_avg"] = state.exp_avg;
            result[$"{name}.exp_avg_sq"] = state.exp_avg_sq;
            result[$"{name}.step"] = tensor(state.step);
        }
        return result;
    }

    /// <summary>Copies saved moments into <paramref name="optimizer"/>; throws listing every missing or misshapen entry.</summary>
    public static void Import(AdamW optimizer, nn.Module model, IReadOnlyDictionary<string, Tensor> saved, string source = "optimizer.safetensors")
    {
        var named = Named(optimizer, model).ToList();
        var problems = new List<string>();
        foreach (var (name, state) in named)
            foreach (var (key, target) in new[] { ($"{name}.exp_avg", state.exp_avg), ($"{name}.exp_avg_sq", state.exp_avg_sq), ($"{name}.step", null) })
            {
                if (!saved.TryGetValue(key, out var value)) problems.Add($"missing {key}");
                else if (target is not null && !value.shape.SequenceEqual(target.shape))
                    problems.Add($"{key} has shape [{string.Join(", ", value.shape)}], the model needs [{string.Join(", ", target.shape)}]");
            }
        if (problems.Count > 0)
            throw new InvalidDataException($"{source} does not match this model's optimizer: {string.Join("; ", problems.Take(5))}" +
                $"{(problems.Count > 5 ? $" (and {problems.Count - 5} more)" : "")}. Resume with the same model, or start the optimizer fresh.");
        using var noGrad = no_grad();
        foreach (var (name, state) in named)
        {
            state.exp_avg.copy_(saved[$"{name}.exp_avg"]);
            state.exp_avg_sq.copy_(saved[$"{name}.exp_avg_sq"]);
            state.step = saved[$"{name}.step"].item<long>();
        }
    }

    /// <summary>Each updated parameter's name and state; the optimizer lists states in the order of its parameters.</summary>
    static IEnumerable<(string Name, AdamW.State State)> Named(AdamW optimizer, nn.Module model)
    {
        var names = model.named_parameters().ToDictionary(p => p.parameter.Handle, p => p.name);
        var states = optimizer.state_dict().State;
        var parameters = optimizer.parameters().ToList();
        if (states.Count != parameters.Count) throw new InvalidOperationException($"AdamW holds {states.Count} states for {parameters.Count} parameters.");
        for (int i = 0; i < parameters.Count; i++)
        {
            if (!names.TryGetValue(parameters[i].Handle, out var name))
                throw new ArgumentException("the optimizer updates a parameter that is not part of the model.", nameof(model));
            yield return (name, (AdamW.State)states[i]);
        }
    }
}
