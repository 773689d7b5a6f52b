using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aha.Checkpoints;

namespace Aha.Cli.Commands;

/// <summary>
/// A run's complete command line: the value of every option (typed or default) saved in trainer_state.json as
/// <c>spec</c>. On --resume an option typed again with the saved value is accepted, a different value is refused
/// naming the saved one (except the few in <see cref="MayChange"/>), and an option not typed takes the saved value,
/// so a resume replays the same run without repeating its command line.
/// </summary>
static class RunSpec
{
    /// <summary>Options that change how a run is watched or kept, not what it computes: a resume may give them new values.</summary>
    public static readonly IReadOnlySet<string> MayChange = new SortedSet<string>(StringComparer.Ordinal)
    {
        "--steps", "--save-every", "--keep-last", "--threads", "--tensorboard", "--log-every", "--eval-every", "--eval-batches", "--max-bad-steps",
    };

    /// <summary>About this invocation, not the run: never saved, never compared.</summary>
    static readonly HashSet<string> Invocation = ["--resume", "--overwrite", "--out", "--help", "--version"];
    /// <summary>Compared and saved as full paths, so a relative path typed from another folder still matches.</summary>
    static readonly HashSet<string> Paths = ["--model", "--data"];

    /// <summary>The effective value of every option of the command <paramref name="r"/> ran, by option name.</summary>
    public static JsonObject Capture(ParseResult r)
    {
        var spec = new JsonObject();
        foreach (var option in Options(r)) spec[option.Name] = Value(r, option);
        return spec;
    }

    /// <summary>
    /// On resume: <paramref name="r"/> with every untyped option set to the saved run's value, after refusing typed
    /// values that differ from it. A run saved before specs existed (no <c>spec</c>) comes back unchanged.
    /// </summary>
    public static ParseResult Resolve(ParseResult r, TrainingState? saved)
    {
        if (saved?.Payload["spec"] is not JsonObject spec) return r;
        var args = new List<string>();
        var refused = new List<string>();
        foreach (var option in r.CommandResult.Command.Options)
        {
            bool typed = r.GetResult(option) is { Implicit: false };
            if (Invocation.Contains(option.Name))
            {
                if (typed) args.AddRange(Tokens(option.Name, Value(r, option)));
                continue;
            }
            var now = Value(r, option);
            spec.TryGetPropertyValue(option.Name, out var was);
            if (typed && !MayChange.Contains(option.Name) && spec.ContainsKey(option.Name) && !JsonNode.DeepEquals(now, was))
                refused.Add($"{option.Name} {Text(now)} (the run was started with {Text(was)})");
            args.AddRange(Tokens(option.Name, typed || !spec.ContainsKey(option.Name) ? now : was));
        }
        if (refused.Count > 0)
            throw new ArgumentException($"--resume: {string.Join("; ", refused)}. An exact resume needs the run's own values: drop the option (the saved value applies) " +
                $"or start a new run with another --out. Only {string.Join(", ", MayChange)} may change on resume.");
        var resolved = r.CommandResult.Command.Parse(args);
        if (resolved.Errors.Count > 0)
            throw new InvalidDataException($"trainer_state.json: the saved run spec does not parse ({resolved.Errors[0].Message}); resume with every option typed, or start a new run.");
        return resolved;
    }

    /// <summary>
    /// SHA-256 of a checkpoint's weights, lower-case hex: saved with a run that starts from it, checked on resume. One
    /// model.safetensors is hashed alone; a sharded folder hashes its index then each shard in name order.
    /// </summary>
    public static string WeightsHash(string checkpointDirectory)
    {
        string single = Path.Combine(checkpointDirectory, Checkpoint.ModelFile);
        if (File.Exists(single))
        {
            using var stream = File.OpenRead(single);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var files = new[] { WeightFiles.IndexFile }
            .Concat(WeightFiles.Headers(checkpointDirectory).Select(h => Path.GetFileName(h.Path)).Order(StringComparer.Ordinal));
        var buffer = new byte[1 << 20];
        foreach (var file in files)
        {
            using var stream = File.OpenRead(Path.Combine(checkpointDirectory, file));
            for (int n; (n = stream.Read(buffer)) > 0;) hash.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Refuses to resume against a base model whose weights changed since the run started (the KL reference, the starting point).</summary>
    public static void CheckBaseUnchanged(TrainingState? saved, string baseDirectory)
    {
        if (saved?.Get<string>("base_model_sha256") is not { } was) return;
        string now = WeightsHash(baseDirectory);
        if (now != was)
            throw new ArgumentException($"the weights of {baseDirectory} changed since the run started (sha256 {now[..12]}…, the run saved {was[..12]}…); " +
                "resuming against other base weights would not be the same run. Restore the original base model, or start a new run with another --out.");
    }

    static IEnumerable<Option> Options(ParseResult r) => r.CommandResult.Command.Options.Where(o => !Invocation.Contains(o.Name));

    static JsonNode? Value(ParseResult r, Option option)
    {
        object? value = r.GetResult(option)?.GetValueOrDefault<object>();
        if (value is string path && Paths.Contains(option.Name)) value = Path.GetFullPath(path);
        return value is null ? null : JsonSerializer.SerializeToNode(value, value.GetType());
    }

    static IEnumerable<string> Tokens(string name, JsonNode? value) => value switch
    {
        null => [],
        JsonValue v when v.GetValueKind() is JsonValueKind.True => [name],
        JsonValue v when v.GetValueKind() is JsonValueKind.False => [],
        JsonValue v when v.GetValueKind() is JsonValueKind.Number => [name, v.ToJsonString()],
        _ => [name, value.GetValue<string>()],
    };

    static string Text(JsonNode? value) => value switch
    {
        null => "(not given)",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => value.ToJsonString(),
    };
}
