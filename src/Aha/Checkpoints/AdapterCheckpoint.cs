using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aha.Model;
using Aha.Tokenizer;
using static TorchSharp.torch;

namespace Aha.Checkpoints;

/// <summary>
/// A LoRA adapter folder in PEFT's format: <c>adapter_config.json</c> and <c>adapter_model.safetensors</c> (keys such as
/// <c>base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight</c>), which PEFT's <c>PeftModel.from_pretrained</c>
/// loads onto the base. A LoRA run's training checkpoint is such a folder plus the tokenizer, optimizer.safetensors (the
/// adapters' moments) and trainer_state.json; it names the base model instead of holding a copy of its weights.
/// </summary>
public sealed partial class AdapterCheckpoint
{
    /// <summary>PEFT's config file.</summary>
    public const string ConfigFile = "adapter_config.json";
    /// <summary>PEFT's weights file.</summary>
    public const string WeightsFile = "adapter_model.safetensors";

    AdapterCheckpoint(string directory, LoraConfig config, string? baseModel, TrainingState? state)
    {
        (Directory, Config, BaseModel, State) = (directory, config, baseModel, state);
    }

    public string Directory { get; }
    public LoraConfig Config { get; }
    /// <summary>base_model_name_or_path of adapter_config.json.</summary>
    public string? BaseModel { get; }
    /// <summary>Resume state, or null for an adapter without one.</summary>
    public TrainingState? State { get; }

    /// <summary>Whether <paramref name="directory"/> holds an adapter_config.json.</summary>
    public static bool IsAdapter(string directory) => File.Exists(Path.Combine(directory, ConfigFile));

    /// <summary>Opens an adapter folder: its config (refusing PEFT options Aha does not implement) and trainer state if any.</summary>
    public static AdapterCheckpoint Open(string directory)
    {
        string path = Path.Combine(directory, ConfigFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing: {directory} is not a PEFT adapter folder. Pass the folder a LoRA run saved (it holds {ConfigFile} and {WeightsFile}).", path);
        if (!File.Exists(Path.Combine(directory, WeightsFile)))
            throw new FileNotFoundException($"{Path.Combine(directory, WeightsFile)} is missing beside {path}; copy the adapter's weights file into the folder.");
        var (config, baseModel) = ReadConfig(File.ReadAllText(path), path);
        string statePath = Path.Combine(directory, Checkpoint.StateFile);
        var state = File.Exists(statePath) ? TrainingState.FromJson(File.ReadAllText(statePath), statePath) : null;
        return new AdapterCheckpoint(Path.GetFullPath(directory), config, baseModel, state);
    }

    /// <summary>Attaches adapters of this folder's config to <paramref name="model"/> and loads their weights.</summary>
    public LoraAdapters AttachTo(LlamaModel model)
    {
        var adapters = model.AttachLora(Config);
        LoadInto(adapters);
        return adapters;
    }

    /// <summary>Copies the saved adapter weights into <paramref name="adapters"/> (names and shapes checked).</summary>
    public void LoadInto(LoraAdapters adapters)
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(Directory, WeightsFile);
        adapters.LoadPeft(SafeTensors.Load(path), path);
    }

    /// <summary>The adapters' optimizer moments saved with a training checkpoint; the caller owns the tensors.</summary>
    public Dictionary<string, Tensor> LoadOptimizer()
    {
        string path = Path.Combine(Directory, Checkpoint.OptimizerFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing: this adapter folder holds no optimizer state, so it cannot be resumed.", path);
        return SafeTensors.Load(path);
    }

    /// <summary>Writes adapter_config.json and adapter_model.safetensors into the existing folder <paramref name="directory"/>.</summary>
    public static void WriteAdapter(string directory, LoraAdapters adapters, string baseModel)
    {
        SaveFaults.BeforeWrite(Path.Combine(directory, ConfigFile));
        File.WriteAllText(Path.Combine(directory, ConfigFile), ConfigJson(adapters.Config, baseModel));
        SaveFaults.BeforeWrite(Path.Combine(directory, WeightsFile));
        SafeTensors.Save(Path.Combine(directory, WeightsFile), adapters.PeftStateDict(), SafeTensors.PyTorchMetadata);
    }

    /// <summary>
    /// Atomically writes the training checkpoint <c>runDir/name</c> of a LoRA run (adapter, tokenizer, optimizer, state)
    /// through <see cref="Checkpoint.WriteFolder"/>, as full checkpoints are written; keeps the newest
    /// <paramref name="keepLast"/> step folders (0 = all). <paramref name="extraTensorFiles"/> are written beside them
    /// (PPO's value model and its moments).
    /// </summary>
    public static string Save(string runDir, string name, LoraAdapters adapters, string baseModel, ITokenizer tokenizer,
        TrainingState state, IReadOnlyDictionary<string, Tensor> optimizer, int keepLast,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, Tensor>>? extraTensorFiles = null)
    {
        return Checkpoint.WriteFolder(runDir, name, updateLatest: true, keepLast, tmp =>
        {
            WriteAdapter(tmp, adapters, baseModel);
            SaveFaults.BeforeWrite(Path.Combine(tmp, "tokenizer.json"));
            tokenizer.Save(tmp);
            SaveFaults.BeforeWrite(Path.Combine(tmp, Checkpoint.OptimizerFile));
            SafeTensors.Save(Path.Combine(tmp, Checkpoint.OptimizerFile), optimizer, SafeTensors.PyTorchMetadata);
            SaveFaults.BeforeWrite(Path.Combine(tmp, Checkpoint.StateFile));
            File.WriteAllText(Path.Combine(tmp, Checkpoint.StateFile), state.ToJson());
            foreach (var (file, tensors) in extraTensorFiles ?? new Dictionary<string, IReadOnlyDictionary<string, Tensor>>())
            {
                SaveFaults.BeforeWrite(Path.Combine(tmp, file));
                SafeTensors.Save(Path.Combine(tmp, file), tensors, SafeTensors.PyTorchMetadata);
            }
        });
    }

    /// <summary>
    /// The adapter checkpoint a LoRA run resumes from, by the rule full checkpoints follow
    /// (<see cref="Checkpoint.TryLoadNewestValid"/>): the one <c>latest</c> names if it validates (<see cref="Check"/>),
    /// else the newest older step folder that does, warning about each one skipped.
    /// </summary>
    public static AdapterCheckpoint? TryLoadNewestValid(string runDir, Action<string> warn) =>
        Checkpoint.NewestValid(runDir, warn, folder => Check(folder, warn));

    /// <summary>
    /// Checks an adapter folder before trusting it: the manifest (sizes and SHA-256), adapter_config.json, trainer_state.json
    /// (its step against the folder name), and the safetensors headers of the adapter (every key PEFT's, A and B paired with
    /// the config's rank and targets) and of the optimizer. Returns the opened folder, or one line naming the file and the fault.
    /// </summary>
    public static (string? Problem, AdapterCheckpoint? Checkpoint) Check(string directory, Action<string>? warn = null)
    {
        if (!System.IO.Directory.Exists(directory)) return ($"{directory}: no such checkpoint folder", null);
        try
        {
            if (CheckpointManifest.Verify(directory, out bool hasManifest) is { } damaged) return (damaged, null);
            if (!hasManifest) warn?.Invoke($"{directory} has no {CheckpointManifest.FileName}: its files are checked for structure only, not by hash.");
            var adapter = Open(directory);
            if (Checkpoint.StepOf(directory) is long step && adapter.State is { } state && state.Step != step)
                return ($"{Path.Combine(directory, Checkpoint.StateFile)} says step {state.Step}, but the folder is {Path.GetFileName(directory)}", null);
            return CheckTensors(adapter) is { } problem ? (problem, null) : (null, adapter);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or JsonException
                                      or InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException or NotSupportedException)
        {
            return (Checkpoint.OneLine(e.Message), null);
        }
    }

    /// <summary>Every adapter key is PEFT's for a configured target, each lora_A [r, in] has its lora_B [out, r]; the optimizer's header reads.</summary>
    static string? CheckTensors(AdapterCheckpoint adapter)
    {
        string path = Path.Combine(adapter.Directory, WeightsFile);
        var tensors = SafeTensors.ReadHeader(path).Tensors.ToDictionary(t => t.Name);
        if (tensors.Count == 0) return $"{path}: holds no tensors";
        int r = adapter.Config.Rank;
        foreach (var (name, info) in tensors)
        {
            var m = PeftName().Match(name);
            if (!m.Success) return $"{path}: '{name}' is not a PEFT LoRA key (base_model.model.model.layers.N.<block>.<module>.lora_A/lora_B.weight)";
            if (!adapter.Config.Targets.Contains(m.Groups["target"].Value))
                return $"{path}: '{name}' adapts {m.Groups["target"].Value}, which {ConfigFile} does not list in target_modules";
            bool isA = m.Groups["matrix"].Value == "lora_A";
            if (info.Shape.Length != 2 || info.Shape[isA ? 0 : 1] != r)
                return $"{path}: '{name}' has shape {info.ShapeText}, but {ConfigFile} says r {r} ({(isA ? "lora_A is [r, in]" : "lora_B is [out, r]")})";
            string partner = name.Replace(isA ? ".lora_A." : ".lora_B.", isA ? ".lora_B." : ".lora_A.", StringComparison.Ordinal);
            if (!tensors.ContainsKey(partner)) return $"{path}: '{name}' has no '{partner}'";
        }
        string optimizer = Path.Combine(adapter.Directory, Checkpoint.OptimizerFile);
        if (File.Exists(optimizer)) SafeTensors.ReadHeader(optimizer);
        else if (adapter.State is not null) return $"{optimizer} is missing beside {Checkpoint.StateFile}, so this checkpoint cannot be resumed";
        return null;
    }

    [GeneratedRegex(@"^base_model\.model\.model\.layers\.\d+\.(self_attn|mlp)\.(?<target>[a-z_]+)\.(?<matrix>lora_A|lora_B)\.weight$")]
    private static partial Regex PeftName();

    /// <summary>The adapter checkpoint <c>runDir/latest</c> names, or null when the run has none yet.</summary>
    public static AdapterCheckpoint? TryLoadLatest(string runDir)
    {
        string pointer = Path.Combine(runDir, Checkpoint.LatestFile);
        if (!File.Exists(pointer)) return null;
        string folder = Path.Combine(runDir, File.ReadAllText(pointer).Trim());
        if (CheckpointManifest.Verify(folder, out _) is { } problem)
            throw new InvalidDataException($"{folder}: {problem}. Point {pointer} at an earlier step folder of the run.");
        return Open(folder);
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>adapter_config.json as PEFT writes it for a plain LoRA on a causal LM.</summary>
    public static string ConfigJson(LoraConfig config, string baseModel) => new JsonObject
    {
        ["alpha_pattern"] = new JsonObject(),
        ["auto_mapping"] = null,
        ["base_model_name_or_path"] = baseModel,
        ["bias"] = "none",
        ["fan_in_fan_out"] = false,
        ["inference_mode"] = true,
        ["init_lora_weights"] = true,
        ["layers_pattern"] = null,
        ["layers_to_transform"] = null,
        ["lora_alpha"] = config.Alpha,
        ["lora_dropout"] = config.Dropout,
        ["modules_to_save"] = null,
        ["peft_type"] = "LORA",
        ["r"] = config.Rank,
        ["rank_pattern"] = new JsonObject(),
        ["revision"] = null,
        ["target_modules"] = new JsonArray([.. config.Targets.Select(t => (JsonNode?)t)]),
        ["task_type"] = "CAUSAL_LM",
        ["use_dora"] = false,
        ["use_rslora"] = false,
    }.ToJsonString(Indented) + "\n";

    /// <summary>Reads adapter_config.json; a PEFT option that would change the computation and is not implemented is refused by name.</summary>
    public static (LoraConfig Config, string? BaseModel) ReadConfig(string json, string source)
    {
        JsonObject root;
        try { root = JsonNode.Parse(json)?.AsObject() ?? throw new JsonException("the document is null"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvalidDataException($"{source}: not a JSON object ({e.Message}).", e);
        }
        string? Text(string key) => root[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        void Refuse(bool bad, string field, string why) { if (bad) throw new NotSupportedException($"{source}: {field} {why}; Aha implements plain LoRA only (re-save the adapter without it)."); }
        Refuse(Text("peft_type") is not "LORA", "peft_type", $"is '{Text("peft_type")}', not LORA");
        Refuse(root["use_dora"]?.GetValue<bool>() == true, "use_dora", "is true");
        Refuse(root["use_rslora"]?.GetValue<bool>() == true, "use_rslora", "is true (scaling α/√r)");
        Refuse(root["fan_in_fan_out"]?.GetValue<bool>() == true, "fan_in_fan_out", "is true");
        Refuse(Text("bias") is { } bias && bias != "none", "bias", $"is '{Text("bias")}'");
        Refuse(root["rank_pattern"] is JsonObject { Count: > 0 }, "rank_pattern", "is not empty");
        Refuse(root["alpha_pattern"] is JsonObject { Count: > 0 }, "alpha_pattern", "is not empty");
        Refuse(root["layers_to_transform"] is not null, "layers_to_transform", "is set");
        Refuse(root["modules_to_save"] is JsonArray { Count: > 0 }, "modules_to_save", "is set");
        Refuse(root["target_modules"] is not JsonArray, "target_modules", "is not a list of module names");
        try
        {
            var config = new LoraConfig
            {
                Rank = root["r"]!.GetValue<int>(),
                Alpha = root["lora_alpha"]!.GetValue<double>(),
                Dropout = root["lora_dropout"]?.GetValue<double>() ?? 0,
                // PEFT stores a set, in no particular order: the canonical order keeps the keys' order stable.
                Targets = [.. LoraConfig.AllTargets.Where(t => root["target_modules"]!.AsArray().Any(n => n?.GetValue<string>() == t))],
            };
            var named = root["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
            var unknown = named.Where(n => !LoraConfig.AllTargets.Contains(n)).ToList();
            if (unknown.Count > 0) throw new ArgumentException($"target_modules names {string.Join(", ", unknown)}, which Aha cannot adapt (it adapts {string.Join(",", LoraConfig.AllTargets)})");
            return (config.Validate(), Text("base_model_name_or_path"));
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or NullReferenceException)
        {
            throw new InvalidDataException($"{source}: {e.Message}. Fix the field or re-save the adapter.", e);
        }
    }
}
