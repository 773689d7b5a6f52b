using System.Text.Json.Nodes;

namespace Aha.Training;

/// <summary>
/// An endless, deterministic supply of training micro-batches that can say where it is and continue from there,
/// so a resumed run reads exactly the batches the uninterrupted one would have.
/// </summary>
public interface IBatchSource
{
    /// <summary>The next micro-batch.</summary>
    TrainingBatch Next();

    /// <summary>Where the next batch starts, as JSON for trainer_state.json.</summary>
    JsonNode Position { get; }

    /// <summary>Continues from a position an earlier <see cref="Position"/> returned.</summary>
    void Seek(JsonNode position);
}
