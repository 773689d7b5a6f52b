using System.Text.Json.Nodes;
using Aha.Checkpoints;
using static TorchSharp.torch;

namespace Aha.Tests.Model;

/// <summary>
/// A model loaded from a published-layout checkpoint saves back in the same family layout: the same tensor names, shapes
/// and dtype (BF16), and a config.json with the same fields and values, so transformers loads the fine-tune as it loaded the input.
/// </summary>
public class FamilyCheckpointTests
{
    [Theory]
    [MemberData(nameof(FamilyGolden.Families), MemberType = typeof(FamilyGolden))]
    public void A_saved_model_has_the_inputs_keys_shapes_dtype_and_config_fields(string family)
    {
        using var temp = new TempDirectory();
        var input = FamilyGolden.Open(family, temp);
        using var model = ModelLoader.Load(input);
        string saved = Checkpoint.Save(temp["run"], "saved", model, input.Config, input.Tokenizer);

        var before = WeightFiles.Headers(FamilyGolden.Folder(family)).SelectMany(h => h.Tensors)
            .ToDictionary(t => t.Name, t => $"{t.Dtype} {t.ShapeText}");
        var after = SafeTensors.ReadHeader(Path.Combine(saved, Checkpoint.ModelFile)).Tensors
            .ToDictionary(t => t.Name, t => $"{t.Dtype} {t.ShapeText}");
        Assert.Equal(before.OrderBy(p => p.Key, StringComparer.Ordinal), after.OrderBy(p => p.Key, StringComparer.Ordinal));

        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(FamilyGolden.Folder(family), "config.json")))!.AsObject();
        var actual = JsonNode.Parse(File.ReadAllText(Path.Combine(saved, Checkpoint.ConfigFile)))!.AsObject();
        Assert.Equal(expected.Select(p => p.Key).Order(StringComparer.Ordinal), actual.Select(p => p.Key).Order(StringComparer.Ordinal));
        foreach (var (key, value) in expected) Assert.True(SameJson(value, actual[key]), $"{key}: {value?.ToJsonString()} in the input, {actual[key]?.ToJsonString()} saved");
    }

    [Theory]
    [MemberData(nameof(FamilyGolden.Families), MemberType = typeof(FamilyGolden))]
    public void A_saved_bf16_model_reloads_to_the_same_logits(string family)
    {
        using var temp = new TempDirectory();
        var input = FamilyGolden.Open(family, temp);
        using var model = ModelLoader.Load(input);
        string saved = Checkpoint.Save(temp["run"], "saved", model, input.Config, input.Tokenizer);
        using var reloaded = ModelLoader.Load(Checkpoint.Open(saved));
        using var noGrad = no_grad();
        using var ids = tensor(new long[] { 500, 1, 2, 3, 400, 311 }).unsqueeze(0);
        using var a = model.forward(ids);
        using var b = reloaded.forward(ids);
        Assert.True(a.equal(b).all().item<bool>()); // BF16 values came in, so BF16 going out is exact
    }

    // Numbers compare by value (Python writes 1000000.0, .NET 1000000), everything else structurally.
    static bool SameJson(JsonNode? a, JsonNode? b) => (a, b) switch
    {
        (null, null) => true,
        (JsonValue x, JsonValue y) when x.GetValueKind() == System.Text.Json.JsonValueKind.Number && y.GetValueKind() == System.Text.Json.JsonValueKind.Number
            => x.GetValue<double>() == y.GetValue<double>(),
        (JsonObject x, JsonObject y) => x.Count == y.Count && x.All(p => y.ContainsKey(p.Key) && SameJson(p.Value, y[p.Key])),
        (JsonArray x, JsonArray y) => x.Count == y.Count && x.Zip(y).All(p => SameJson(p.First, p.Second)),
        _ => JsonNode.DeepEquals(a, b),
    };
}
