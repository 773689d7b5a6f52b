using System.Text.Json.Nodes;
using Aha.Checkpoints;
using Aha.Model;
using Aha.Tokenizer;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

/// <summary>
/// Reward-model folders (*ForSequenceClassification) against the independent PyTorch reference
/// tests/reference/reward_model_reference.py: the same scores at the last non-pad token, and Aha writes the folder back
/// with the same config fields and weight names transformers reads.
/// </summary>
public class RewardModelParityTests
{
    static string Folder(string family) => Path.Combine(AppContext.BaseDirectory, "Model", "golden", "reward_model", family);

    static LlamaModel Load(string folder)
    {
        var config = ModelConfig.FromJson(File.ReadAllText(Path.Combine(folder, "config.json")), "config.json");
        var model = new LlamaModel(config, initialize: false);
        using var noGrad = no_grad();
        var weights = SafeTensors.Load(Path.Combine(folder, "model.safetensors"));
        var target = model.state_dict();
        Assert.Equal(weights.Keys.Order(), target.Keys.Order());
        foreach (var (name, tensor) in weights) target[name].copy_(tensor);
        return model;
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen2")]
    [InlineData("qwen3")]
    public void A_saved_reward_model_scores_padded_rows_as_the_pytorch_reference_does(string family)
    {
        using var model = Load(Folder(family));
        Assert.True(model.Config.SequenceClassification);
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(family), "expected.json")))!;
        var rows = expected["rows"]!.AsArray().Select(r => r!.AsArray().Select(v => v!.GetValue<long>()).ToArray()).ToArray();
        using var ids = tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);
        using var scores = model.Scores(ids);
        var actual = scores.data<float>().ToArray();
        var want = expected["scores"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(actual[i] - want[i]) < 1e-4, $"row {i}: {actual[i]} vs {want[i]}");
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen3")]
    public void Aha_writes_the_reward_model_folder_back_with_the_fields_and_names_transformers_reads(string family)
    {
        using var model = Load(Folder(family));
        using var dir = new TempDirectory();
        string saved = Checkpoint.Save(dir.Path, "rm", model, model.Config, ByteTokenizer.Default);
        var written = JsonNode.Parse(File.ReadAllText(Path.Combine(saved, "config.json")))!.AsObject();
        var golden = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder(family), "config.json")))!.AsObject();
        foreach (var key in new[] { "architectures", "model_type", "num_labels", "id2label", "label2id", "pad_token_id", "hidden_size", "num_hidden_layers" })
            Assert.True(JsonNode.DeepEquals(golden[key], written[key]), $"{key}: {written[key]?.ToJsonString()} vs {golden[key]?.ToJsonString()}");
        Assert.Null(Checkpoint.Validate(saved));
        var (reloaded, _) = ModelLoader.OpenAndLoad(saved);
        using (reloaded)
        {
            var keys = reloaded.state_dict().Keys.ToList();
            Assert.Contains("score.weight", keys);
            Assert.DoesNotContain("lm_head.weight", keys);
            using var ids = tensor(new long[] { 256, 10, 20, 258, 258 }, [1, 5]);
            using var a = model.Scores(ids);
            using var b = reloaded.Scores(ids);
            Assert.Equal(a.item<float>(), b.item<float>());
        }
    }

    [Fact]
    public void The_score_is_read_at_the_last_token_that_is_not_padding()
    {
        using var model = Load(Folder("llama"));
        using var alone = tensor(new long[] { 256, 1, 2, 3 }, [1, 4]);
        using var padded = tensor(new long[] { 256, 1, 2, 3, 258, 258, 256, 1, 2, 3, 4, 5 }, [2, 6]);
        using var a = model.Scores(alone);
        using var b = model.Scores(padded);
        using var perToken = model.TokenScores(alone);
        Assert.Equal(perToken[0, 3].item<float>(), a.item<float>(), 5);
        Assert.Equal(a.item<float>(), b[0].item<float>(), 5);
    }

    [Fact]
    public void A_reward_model_built_from_a_causal_lm_keeps_the_trunk_and_has_a_fresh_head()
    {
        using var lm = TinyModels.WithFormulaWeights(new ModelConfig
        {
            VocabSize = 264, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, MaxPositionEmbeddings = 64,
        });
        manual_seed(3);
        using var rm = RewardModels.FromCausalLm(lm, padId: 258);
        Assert.Contains("LlamaForSequenceClassification", rm.Config.ToJson(), StringComparison.Ordinal);
        var source = lm.state_dict();
        foreach (var (name, tensor) in rm.state_dict().Where(p => p.Key.StartsWith("model.", StringComparison.Ordinal)))
            Assert.True(tensor.eq(source[name]).all().item<bool>(), name);
        var head = rm.state_dict()["score.weight"];
        Assert.Equal(new long[] { 1, 32 }, head.shape);
        double std = head.std().item<float>();
        Assert.InRange(std, 0.01, 0.04); // N(0, 0.02), as transformers initialises a fresh score head
        Assert.Throws<InvalidOperationException>(() => rm.Logits(zeros(1, 32)));
    }
}
