"""The object: mesh loading into the scene frame, inside/outside and distance, and the frozen
object field with a learnable placement."""

from .field import FieldOutput, ObjectField, ObjectFieldConfig
from .inside import (
                     SdfGrid,
                     TriangleLeaves,
                     build_sdf_grid,
                     signed_distance,
                     simplify_for_field,
                     unsigned_distance,
                     winding_number,
)
from .mesh_io import MeshError, ObjectMesh, Similarity, load_object_mesh, save_obj

__all__ = ["FieldOutput", "MeshError", "ObjectField", "ObjectFieldConfig", "ObjectMesh",
           "SdfGrid", "Similarity", "TriangleLeaves", "build_sdf_grid", "load_object_mesh",
           "save_obj", "signed_distance", "simplify_for_field", "unsigned_distance",
           "winding_number"]
