using Aha.Model;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

/// <summary>State-dict names and shapes against approved files: the contract with Hugging Face checkpoints.</summary>
public class LlamaModelShapeTests
{
    [Theory]
    [InlineData(false, false, "untied")]
    [InlineData(true, true, "tied_bias")]
    public void State_dict_keys_and_shapes_match_the_approved_file(bool tied, bool bias, string name)
    {
        // The meta device gives shapes without allocating, as a large config would need.
        using var model = new LlamaModel(TinyModels.Config(tied, bias) with { VocabSize = 264, BosTokenId = 256, EosTokenId = 257, PadTokenId = 258 }, META);
        string received = string.Concat(model.state_dict().Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value.shape)}]\n"));
        string approvedPath = Path.Combine(AppContext.BaseDirectory, "Model", "approved", $"llama_{name}.txt");
        string approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath) : "";
        if (received != approved)
        {
            string receivedPath = Path.ChangeExtension(approvedPath, ".received.txt");
            Directory.CreateDirectory(Path.GetDirectoryName(receivedPath)!);
            File.WriteAllText(receivedPath, received);
            Assert.Fail($"state dict differs from {approvedPath}; if the change is intended, copy {receivedPath} over tests/Aha.Tests/Model/approved/llama_{name}.txt.\n{received}");
        }
    }

    [Fact]
    public void A_tied_model_has_no_head_weight_and_its_logits_use_the_embedding()
    {
        using var model = TinyModels.WithFormulaWeights(TinyModels.Config(tied: true));
        Assert.DoesNotContain("lm_head.weight", model.state_dict().Keys);
        using var hidden = ones(1, 1, 32);
        using var logits = model.Logits(hidden);
        using var expected = hidden.matmul(model.state_dict()["model.embed_tokens.weight"].t());
        Assert.True(logits.allclose(expected));
    }

    [Fact]
    public void Initialisation_follows_hugging_face()
    {
        manual_seed(7);
        using var model = new LlamaModel(TinyModels.Config(bias: true) with { HiddenSize = 256, NumAttentionHeads = 8, NumKeyValueHeads = 8 });
        var state = model.state_dict();
        Assert.Equal(0.02, state["model.layers.0.mlp.up_proj.weight"].std().item<float>(), 0.001);
        Assert.Equal(1f, state["model.norm.weight"].mean().item<float>());
        Assert.Equal(0f, state["model.layers.0.self_attn.q_proj.bias"].abs().max().item<float>());
        Assert.Equal(0f, state["model.embed_tokens.weight"][0].abs().max().item<float>()); // pad row (pad_token_id 0)
    }
}
