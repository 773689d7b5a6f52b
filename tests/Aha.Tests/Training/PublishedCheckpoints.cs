using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Tests.Tokenizer;
using static TorchSharp.torch;

namespace Aha.Tests.Training;

/// <summary>
/// Checkpoint folders laid out as the Hub ships a family — config.json in the published model's fields, BF16 weights sharded
/// over two files with model.safetensors.index.json, tied embeddings — with tiny random weights (hidden 16) whose vocabulary
/// covers a real published tokenizer (the npm fixtures): tokenizer.json, tokenizer_config.json and a generation_config.json
/// with the family's stop list. Built at test time in a temp folder (a few MB; never committed).
/// </summary>
static class PublishedCheckpoints
{
    /// <summary>The families paired with their tokenizers: qwen3 and qwen2 (Qwen2.5) with Qwen3's, llama (3.2-style, llama3 rope scaling) with Llama 3.1's.</summary>
    public static readonly TheoryData<string> Families = new() { "qwen3", "qwen2", "llama" };

    /// <summary>The tokenizer fixture each family is paired with.</summary>
    public static string TokenizerOf(string family) => family == "llama" ? "llama3_1" : "qwen3";

    /// <summary>The end-of-turn token of the family's chat template.</summary>
    public static string EndOfTurn(string family) => family == "llama" ? "<|eot_id|>" : "<|im_end|>";

    /// <summary>Writes the folder <c>temp/family</c> and returns its path.</summary>
    /// <param name="endOfTurnScale">
    /// Multiplies the end-of-turn token's embedding row (tied: also its output row), so sampled completions end there at
    /// varied lengths: GRPO then sees groups whose rewards differ (an overlong penalty) and updates the policy.
    /// </param>
    public static string Build(string family, TempDirectory temp, string? name = null, double endOfTurnScale = 1)
    {
        string folder = temp[name ?? family];
        Directory.CreateDirectory(folder);
        var (config, generation) = Files(family);
        File.WriteAllText(Path.Combine(folder, Checkpoint.ConfigFile), config.ToJsonString(new() { WriteIndented = true }));
        File.WriteAllText(Path.Combine(folder, Checkpoint.GenerationConfigFile), generation.ToJsonString(new() { WriteIndented = true }));
        string tokenizer = TokenizerFixtures.Folder(TokenizerOf(family));
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(tokenizer, file), Path.Combine(folder, file));

        var modelConfig = ModelConfig.FromJson(config.ToJsonString(), "config.json");
        var generator = new TorchSharp.torch.Generator(1234);
        using var scope = NewDisposeScope();
        using var meta = new LlamaModel(modelConfig, META);
        var entries = meta.state_dict().Select(p => (Name: p.Key, Shape: p.Value.shape)).ToList();
        // Random weights drawn here (not by the model's initialiser): norms near 1, matrices ~N(0, 0.2²) so logits vary across the vocabulary.
        var tensors = entries.ToDictionary(e => e.Name, e => e.Name.EndsWith("norm.weight", StringComparison.Ordinal)
            ? (1 + 0.1 * randn(e.Shape, generator: generator)).to(bfloat16)
            : (0.2 * randn(e.Shape, generator: generator)).to(bfloat16));
        int endOfTurn = family == "llama" ? 128009 : 151645; // <|eot_id|>, <|im_end|>
        if (endOfTurnScale != 1)
            using (no_grad()) tensors["model.embed_tokens.weight"][endOfTurn].mul_(endOfTurnScale);
        var weightMap = new JsonObject();
        int half = entries.Count / 2;
        var shards = new[] { entries.Take(half), entries.Skip(half) };
        long total = 0;
        for (int s = 0; s < 2; s++)
        {
            string file = $"model-{s + 1:D5}-of-00002.safetensors";
            var shard = shards[s].ToDictionary(e => e.Name, e => tensors[e.Name]);
            SafeTensors.Save(Path.Combine(folder, file), shard, SafeTensors.PyTorchMetadata);
            foreach (var key in shard.Keys) weightMap[key] = file;
            total += shard.Values.Sum(t => t.numel() * 2);
        }
        File.WriteAllText(Path.Combine(folder, WeightFiles.IndexFile),
            new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap }.ToJsonString(new() { WriteIndented = true }));
        return folder;
    }

    /// <summary>config.json and generation_config.json: the published model's fields (Qwen3-0.6B, Qwen2.5-0.5B-Instruct, Llama-3.2-1B-Instruct) at tiny sizes.</summary>
    static (JsonObject Config, JsonObject Generation) Files(string family) => family switch
    {
        "qwen3" => (JsonNode.Parse("""
            {"architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 151643,
             "eos_token_id": 151645, "head_dim": 16, "hidden_act": "silu", "hidden_size": 16, "initializer_range": 0.02,
             "intermediate_size": 32, "max_position_embeddings": 512, "max_window_layers": 2, "model_type": "qwen3",
             "num_attention_heads": 2, "num_hidden_layers": 2, "num_key_value_heads": 1, "rms_norm_eps": 1e-06, "rope_scaling": null,
             "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
             "transformers_version": "4.51.0", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936}
            """)!.AsObject(), JsonNode.Parse("""
            {"bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "pad_token_id": 151643,
             "temperature": 0.6, "top_k": 20, "top_p": 0.95, "transformers_version": "4.51.0"}
            """)!.AsObject()),
        "qwen2" => (JsonNode.Parse("""
            {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
             "hidden_act": "silu", "hidden_size": 16, "initializer_range": 0.02, "intermediate_size": 32, "max_position_embeddings": 512,
             "max_window_layers": 2, "model_type": "qwen2", "num_attention_heads": 2, "num_hidden_layers": 2, "num_key_value_heads": 1,
             "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 512, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
             "transformers_version": "4.43.1", "use_cache": true, "use_sliding_window": false, "vocab_size": 151936}
            """)!.AsObject(), JsonNode.Parse("""
            {"bos_token_id": 151643, "pad_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643],
             "repetition_penalty": 1.1, "temperature": 0.7, "top_p": 0.8, "top_k": 20, "transformers_version": "4.37.0"}
            """)!.AsObject()),
        "llama" => (JsonNode.Parse("""
            {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 128000,
             "eos_token_id": [128001, 128008, 128009], "head_dim": 8, "hidden_act": "silu", "hidden_size": 16, "initializer_range": 0.02,
             "intermediate_size": 32, "max_position_embeddings": 512, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 2,
             "num_hidden_layers": 2, "num_key_value_heads": 1, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
             "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 16, "rope_type": "llama3"},
             "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.45.0.dev0",
             "use_cache": true, "vocab_size": 128256}
            """)!.AsObject(), JsonNode.Parse("""
            {"bos_token_id": 128000, "do_sample": true, "eos_token_id": [128001, 128008, 128009], "temperature": 0.6, "top_p": 0.9,
             "transformers_version": "4.45.0.dev0"}
            """)!.AsObject()),
        _ => throw new ArgumentException($"no published checkpoint layout for '{family}'", nameof(family)),
    };
}
