"""The procedural SMPL-X-compatible body: mesh, skeleton, skinning, shape space, smplx loading."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from anchorhoi.portable import procedural_body as pb
from anchorhoi.portable.procedural_mesh import unique_edges
from anchorhoi.portable.procedural_shape import HEIGHT_SCALE
from anchorhoi.portable.procedural_skeleton import rest_joints
from anchorhoi.portable.procedural_solid import build_primitives
from anchorhoi.portable.skeleton import JOINT_NAMES, PARENTS, kintree_table

J = {n: i for i, n in enumerate(JOINT_NAMES)}
WRIST = np.array([0.685, 0.075, -0.025])  # left wrist as designed


@pytest.fixture(scope="module")
def model():
    return pb.build_procedural_model()


@pytest.fixture(scope="module")
def npz_path(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("procedural") / "SMPLX_NEUTRAL.npz"
    np.savez(path, **model)
    return path


@pytest.fixture(scope="module")
def rest(model):
    return model["J_regressor"] @ model["v_template"]


def mirror(p):
    return np.asarray(p, float) * (-1.0, 1.0, 1.0)


def edge_lists(faces):
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return directed, unique_edges(faces)


def components(n, edges):
    adj = [[] for _ in range(n)]
    for a, b in edges.tolist():
        adj[a].append(b)
        adj[b].append(a)
    label, count = [-1] * n, 0
    for s in range(n):
        if label[s] >= 0:
            continue
        label[s] = count
        todo = deque([s])
        while todo:
            for b in adj[todo.popleft()]:
                if label[b] < 0:
                    label[b] = count
                    todo.append(b)
        count += 1
    return count


def winding_number(v, f, p):
    a, b, c = (v[f[:, k]] - p for k in range(3))
    la, lb, lc = (np.linalg.norm(x, axis=1) for x in (a, b, c))
    num = np.einsum("ij,ij->i", a, np.cross(b, c))
    den = la * lb * lc + (a * b).sum(1) * lc + (b * c).sum(1) * la + (c * a).sum(1) * lb
    return 2 * np.arctan2(num, den).sum() / (4 * np.pi)


def cross_sections(v, f, axis, value):
    """Closed loops where the plane ``x[axis] = value`` cuts the mesh: their centroids."""
    above = v[:, axis] > value
    fa = above[f]
    cut = np.flatnonzero(fa.any(1) & ~fa.all(1))
    owner = {}  # crossing edge -> faces
    for fi in cut:
        for k in range(3):
            a, b = f[fi, k], f[fi, (k + 1) % 3]
            if above[a] != above[b]:
                owner.setdefault((min(a, b), max(a, b)), []).append(fi)
    assert all(len(x) == 2 for x in owner.values())
    parent = {fi: fi for fi in cut}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in owner.values():
        parent[find(x)] = find(y)
    loops = {}
    for fi in cut:
        loops.setdefault(find(fi), []).append(v[f[fi]].mean(0))
    return [np.mean(p, axis=0) for p in loops.values()]


# ---------------------------------------------------------------------------------- format
def test_keys_shapes_and_dtypes(model):
    v = model["v_template"].shape[0]
    expected = {
        "v_template": ((v, 3), np.float64), "f": ((model["f"].shape[0], 3), np.int64),
        "J_regressor": ((55, v), np.float64), "weights": ((v, 55), np.float64),
        "kintree_table": ((2, 55), np.int64), "shapedirs": ((v, 3, 400), np.float64),
        "posedirs": ((v, 3, 486), np.float64), "hands_componentsl": ((45, 45), np.float64),
        "hands_componentsr": ((45, 45), np.float64), "hands_meanl": ((45,), np.float64),
        "hands_meanr": ((45,), np.float64), "lmk_faces_idx": ((51,), np.int64),
        "lmk_bary_coords": ((51, 3), np.float64), "dynamic_lmk_faces_idx": ((79, 17), np.int64),
        "dynamic_lmk_bary_coords": ((79, 17, 3), np.float64),
    }
    assert set(model) == set(expected)
    for key, (shape, dtype) in expected.items():
        assert model[key].shape == shape, key
        assert model[key].dtype == dtype, key
    np.testing.assert_array_equal(model["kintree_table"], kintree_table())
    for side in "lr":
        np.testing.assert_array_equal(model[f"hands_components{side}"], np.eye(45))
        np.testing.assert_array_equal(model[f"hands_mean{side}"], np.zeros(45))
    assert not model["posedirs"].any()
    assert isinstance(pb.GENERATOR_VERSION, str) and pb.GENERATOR_VERSION


def test_deterministic(model):
    again = pb.build_procedural_model()  # build time: bench/body_build.py
    for key in model:
        assert again[key].dtype == model[key].dtype
        assert again[key].tobytes() == model[key].tobytes(), key


def test_num_betas_and_expression_columns(model):
    sd = model["shapedirs"]
    assert all(np.abs(sd[:, :, k]).max() > 1e-3 for k in range(10))
    assert not sd[:, :, 10:300].any()
    expr = np.abs(sd[:, :, 300:303]).max(axis=(0, 1))
    assert (expr > 1e-3).all() and (expr < 0.02).all()  # small face deformations
    assert not sd[:, :, 303:].any()
    more = pb.build_procedural_model(num_betas=16)["shapedirs"]
    np.testing.assert_array_equal(more[:, :, :10], sd[:, :, :10])
    assert all(np.abs(more[:, :, k]).max() > 1e-3 for k in range(16))
    with pytest.raises(ValueError):
        pb.build_procedural_model(num_betas=301)


# ------------------------------------------------------------------------------------ mesh
def test_mesh_is_closed_genus_zero_and_clean(model):
    v, f = model["v_template"], model["f"]
    assert 2000 <= len(v) <= 15000
    directed, edges = edge_lists(f)
    # edge-manifold and consistently oriented: each edge in two faces, once in each direction
    _, count = np.unique(np.sort(directed, axis=1), axis=0, return_counts=True)
    assert (count == 2).all()
    assert len(np.unique(directed, axis=0)) == len(directed)
    assert len(v) - len(edges) + len(f) == 2  # Euler characteristic of a sphere
    assert components(len(v), edges) == 1
    assert np.unique(f).size == len(v)  # no stray vertices
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    normal = np.cross(b - a, c - a)
    area = 0.5 * np.linalg.norm(normal, axis=1)
    assert area.min() > 1e-7
    assert np.linalg.norm(v[edges[:, 0]] - v[edges[:, 1]], axis=1).min() > 5e-4
    volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6
    assert 0.045 < volume < 0.08  # m^3: a ~60 kg body
    # every face points out of the solid the mesh was built from
    _, grad = build_primitives().field((a + b + c) / 3, grad=True)
    cos = (normal * grad).sum(1) / (2 * area * np.linalg.norm(grad, axis=1))
    assert cos.min() > 0.3


def test_height_and_placement(model, rest):
    v = model["v_template"]
    height = v[:, 1].max() - v[:, 1].min()
    assert 1.65 < height < 1.75
    assert abs(v[:, 1].min() - (-1.30)) < 0.01  # soles
    np.testing.assert_allclose(rest[J["pelvis"]], (0.0, -0.35, 0.01), atol=1e-3)
    # T-pose, facing +Z, left at +X: hands far out along X at shoulder height
    assert v[:, 0].max() > 0.85 and v[:, 0].min() < -0.85
    np.testing.assert_allclose(v[:, 0].max(), -v[:, 0].min(), atol=1e-6)
    assert v[:, 2].max() > 0.15  # toes point forward
    nose = v[pb.procedural_vertex_ids(model)["nose"]]
    assert nose[2] > 0.1 and abs(nose[0]) < 0.01


def test_fingers_are_separate(model):
    v, f = model["v_template"], model["f"]
    for sx in (1, -1):
        side = [p for p in cross_sections(v * (sx, 1, 1), f, 0, WRIST[0] + 0.13) if p[0] > 0.6]
        assert len(side) == 4  # index, middle, ring, pinky (the thumb ends before)
        z = sorted(p[2] for p in side)
        assert min(np.diff(z)) > 0.015
        side = [p for p in cross_sections(v * (sx, 1, 1), f, 0, WRIST[0] + 0.075) if p[0] > 0.6]
        assert len(side) == 2  # the palm and the thumb
        assert max(p[2] for p in side) > WRIST[2] + 0.07  # the thumb sticks forward


# ------------------------------------------------------------------------------- skeleton
DESIGNED = {
    "pelvis": (0.0, -0.35, 0.01), "left_hip": (0.075, -0.44, 0.0), "spine1": (0.0, -0.235, -0.01),
    "left_knee": (0.095, -0.83, 0.005), "spine2": (0.0, -0.105, -0.005),
    "left_ankle": (0.088, -1.22, -0.04), "spine3": (0.0, -0.045, 0.01),
    "left_foot": (0.108, -1.275, 0.085), "neck": (0.0, 0.13, -0.02),
    "left_collar": (0.075, 0.055, -0.01), "head": (0.0, 0.225, -0.005),
    "left_shoulder": (0.175, 0.085, -0.02), "left_elbow": (0.435, 0.075, -0.03),
    "left_wrist": tuple(WRIST), "jaw": (0.0, 0.205, 0.035), "left_eye_smplhf": (0.032, 0.29, 0.072),
    "left_middle1": tuple(WRIST + (0.092, 0.003, 0.006)),
    "left_thumb1": tuple(WRIST + (0.024, -0.010, 0.020)),
}


def test_rest_joints_are_the_designed_ones(model, rest):
    np.testing.assert_allclose(rest, rest_joints(), atol=1e-6)
    for name, p in DESIGNED.items():
        np.testing.assert_allclose(rest[J[name]], p, atol=1e-3, err_msg=name)
        if name.startswith("left_"):
            np.testing.assert_allclose(rest[J["right_" + name[5:]]], mirror(p), atol=1e-3)
    # arms horizontal along +-X, fingers straight along the arm
    for side, sx in (("left", 1), ("right", -1)):
        chain = rest[[J[f"{side}_{n}"] for n in ("shoulder", "elbow", "wrist")]]
        assert (sx * np.diff(chain[:, 0]) > 0.2).all() and np.ptp(chain[:, 1]) < 0.02
        for digit in ("index", "middle", "ring", "pinky"):
            p = rest[[J[f"{side}_{digit}{k}"] for k in (1, 2, 3)]]
            assert (sx * np.diff(p[:, 0]) > 0.015).all() and np.ptp(p[:, 1]) < 1e-9


def test_eyes_and_jaw_inside_the_head(model, rest):
    v, f = model["v_template"], model["f"]
    for name in ("jaw", "left_eye_smplhf", "right_eye_smplhf", "pelvis", "left_index3"):
        assert winding_number(v, f, rest[J[name]]) == pytest.approx(1.0, abs=1e-6), name
    assert winding_number(v, f, np.array([0.0, 0.0, 0.5])) == pytest.approx(0.0, abs=1e-6)


def test_regressor_is_a_sparse_average_of_nearby_rings(model, rest):
    reg, v = model["J_regressor"], model["v_template"]
    assert reg.min() >= 0
    np.testing.assert_allclose(reg.sum(1), 1.0, atol=1e-12)
    nnz = (reg > 0).sum(1)
    assert nnz.min() >= 4 and nnz.max() <= 40
    for i in range(55):
        ring = v[reg[i] > 0]
        assert np.linalg.norm(ring - rest[i], axis=1).max() < 0.25
    # fingers: the ring stays on its own finger
    for i in range(J["left_index1"], J["right_thumb3"] + 1):
        ring = v[reg[i] > 0]
        assert np.linalg.norm(ring - rest[i], axis=1).max() < 0.03


# ------------------------------------------------------------------------------- skinning
OWNERS = {  # point just off the surface -> the joint that must move the nearest vertex
    (0.30, 0.16, -0.025): "left_shoulder", (0.56, 0.14, -0.03): "left_elbow",
    (0.73, 0.12, -0.025): "left_wrist", (0.90, 0.078, -0.016): "left_middle3",
    (0.824, 0.107, 0.012): "left_index2", (0.783, 0.031, 0.083): "left_thumb3",
    (0.09, -0.62, 0.15): "left_hip", (0.09, -1.02, 0.12): "left_knee",
    (0.085, -1.27, -0.2): "left_ankle", (0.113, -1.285, 0.25): "left_foot",
    (0.0, 0.6, 0.0): "head", (0.0, 0.17, 0.12): "jaw", (0.0, -0.02, 0.3): "spine3",
    (0.0, -0.2, 0.3): "spine1", (0.06, -0.42, -0.3): "pelvis", (0.09, 0.2, -0.015): "neck",
    (0.13, 0.2, -0.02): "left_collar",
}


def test_skinning_weights(model):
    w, v, f = model["weights"], model["v_template"], model["f"]
    assert w.min() >= 0
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-12)
    assert (w > 0).sum(1).max() <= 4
    owned = np.bincount(w.argmax(1), minlength=55)
    eyes = [J["left_eye_smplhf"], J["right_eye_smplhf"]]
    assert (np.delete(owned, eyes) > 0).all()
    assert (owned[eyes] == 0).all() and not w[:, eyes].any()
    for p, name in OWNERS.items():
        for q, side_name in ((p, name), (mirror(p), name.replace("left_", "right_"))):
            i = np.argmin(((v - q) ** 2).sum(1))
            assert JOINT_NAMES[w[i].argmax()] == side_name, (q, side_name)
    # smooth over the mesh: neighbours have similar weights
    _, edges = edge_lists(f)
    jump = np.abs(w[edges[:, 0]] - w[edges[:, 1]]).sum(1)
    assert jump.mean() < 0.2 and np.percentile(jump, 99) < 0.7 and jump.max() < 1.2


# ---------------------------------------------------------------------------------- shape
def test_betas_change_height_and_girth(model):
    v, sd, reg = model["v_template"], model["shapedirs"], model["J_regressor"]

    def shaped(k, value):
        return v + value * sd[:, :, k]

    def height(x):
        return np.ptp(x[:, 1])

    def waist(x):  # width of the torso at the waist
        band = np.abs(x[:, 1] + 0.15) < 0.012
        return np.ptp(x[band, 0])

    h0, w0 = height(v), waist(v)
    assert 0.02 < height(shaped(0, 1)) - h0 < 0.06
    assert height(shaped(0, -1)) - h0 == pytest.approx(-(height(shaped(0, 1)) - h0), abs=1e-9)
    assert abs(waist(shaped(0, 1)) - w0) < 0.003  # height alone keeps the cross-sections
    shin = [np.linalg.norm(np.subtract(*(reg @ x)[[J["left_knee"], J["left_ankle"]]]))
            for x in (v, shaped(0, 1))]
    assert shin[1] / shin[0] == pytest.approx(1 + HEIGHT_SCALE, abs=0.005)  # joints follow
    assert 0.05 < waist(shaped(1, 1)) / w0 - 1 < 0.12
    assert waist(shaped(1, -1)) < w0
    assert abs(height(shaped(1, 1)) - h0) < 0.01
    # joints follow the girth direction too (they stay centred in their rings)
    np.testing.assert_allclose(reg @ shaped(1, 2), reg @ v, atol=0.01)


# ----------------------------------------------------------------------- landmarks and ids
def test_landmarks_on_the_face(model):
    v, f = model["v_template"], model["f"]
    for idx, bary in (("lmk_faces_idx", "lmk_bary_coords"),
                      ("dynamic_lmk_faces_idx", "dynamic_lmk_bary_coords")):
        i, b = model[idx].reshape(-1), model[bary].reshape(-1, 3)
        assert i.min() >= 0 and i.max() < len(f)
        assert b.min() >= 0
        np.testing.assert_allclose(b.sum(1), 1.0, atol=1e-12)
    p = np.einsum("nk,nkj->nj", model["lmk_bary_coords"], v[f[model["lmk_faces_idx"]]])
    assert (p[:, 2] > 0.06).all() and (np.abs(p[:, 0]) < 0.07).all()
    assert (p[:, 1] > 0.19).all() and (p[:, 1] < 0.33).all()
    assert p[:10, 1].min() > p[10:, 1].max() - 0.03  # brows on top
    assert (p[:5, 0] < 0).all() and (p[5:10, 0] > 0).all()  # subject's right brow first
    # jaw contour (smplx's bin 0 is the head looking straight ahead): right ear to left ear
    i, b = model["dynamic_lmk_faces_idx"][0], model["dynamic_lmk_bary_coords"][0]
    c = np.einsum("nk,nkj->nj", b, v[f[i]])
    np.testing.assert_allclose(c[:, 0], -c[::-1, 0], atol=0.006)
    assert (np.diff(c[:, 0]) > 0).all() and c[8, 1] < c[0, 1] - 0.05  # chin below the ears


def test_vertex_ids(model):
    import smplx.vertex_ids

    ids = pb.procedural_vertex_ids(model)
    assert set(ids) == set(smplx.vertex_ids.vertex_ids["smplx"])
    assert ids == pb.procedural_vertex_ids()  # the same without the model (re-meshes)
    v = model["v_template"]
    p = {k: v[i] for k, i in ids.items()}
    assert p["leye"][0] > 0.02 and p["reye"][0] < -0.02 and p["leye"][2] > 0.08
    assert p["lear"][0] > 0.06 and p["rear"][0] < -0.06
    for s, sx in (("l", 1), ("r", -1)):
        assert sx * p[s + "middle"][0] > 0.86
        assert sx * p[s + "thumb"][0] > 0.75 and p[s + "thumb"][2] > 0.05
        assert p[s + "index"][2] > p[s + "middle"][2] > p[s + "ring"][2] > p[s + "pinky"][2]
    for s, sx in (("L", 1), ("R", -1)):
        assert p[s + "Heel"][2] < -0.07 and p[s + "BigToe"][2] > 0.14
        assert sx * p[s + "BigToe"][0] < sx * p[s + "SmallToe"][0]  # big toe on the inside
        assert p[s + "Heel"][1] < -1.25


# ------------------------------------------------------------------------------- smplx path
def _rodrigues(aa):
    th = np.linalg.norm(aa, axis=-1, keepdims=True)[..., None]
    k = aa / np.maximum(np.linalg.norm(aa, axis=-1, keepdims=True), 1e-12)
    K = np.zeros(aa.shape[:-1] + (3, 3))
    K[..., 0, 1], K[..., 0, 2], K[..., 1, 2] = -k[..., 2], k[..., 1], -k[..., 0]
    K = K - np.swapaxes(K, -1, -2)
    return np.eye(3) + np.sin(th) * K + (1 - np.cos(th)) * K @ K


def _forward_kinematics(rest_joints, rots):
    """World rotations and positions of the joints, rotations (B, 55, 3, 3) local."""
    b = rots.shape[0]
    R, t = np.zeros((b, 55, 3, 3)), np.zeros((b, 55, 3))
    for i, p in enumerate(PARENTS):
        if p < 0:
            R[:, i], t[:, i] = rots[:, i], rest_joints[i]
        else:
            R[:, i] = R[:, p] @ rots[:, i]
            t[:, i] = t[:, p] + R[:, p] @ (rest_joints[i] - rest_joints[p])
    return R, t


def test_loads_and_poses_in_smplx(model, npz_path, capsys):
    torch = pytest.importorskip("torch")
    smplx = pytest.importorskip("smplx")
    from smplx.vertex_joint_selector import VertexJointSelector

    capsys.readouterr()
    layer = smplx.SMPLXLayer(model_path=str(npz_path), ext="npz", num_betas=10, use_pca=False,
                             dtype=torch.float64)
    assert "WARNING" not in capsys.readouterr().out  # 400 shapedirs columns: no 10+10 fallback
    ids = pb.procedural_vertex_ids(model)
    layer.vertex_joint_selector = VertexJointSelector(vertex_ids=ids)

    rng = np.random.default_rng(0)
    b = 4
    rots = _rodrigues(rng.normal(scale=0.4, size=(b, 55, 3)))
    betas = rng.normal(size=(b, 10))
    transl = rng.normal(scale=0.5, size=(b, 3))
    t = {k: torch.from_numpy(x) for k, x in dict(rots=rots, betas=betas, transl=transl).items()}
    with torch.no_grad():
        out = layer(global_orient=t["rots"][:, 0:1], body_pose=t["rots"][:, 1:22],
                    jaw_pose=t["rots"][:, 22:23], leye_pose=t["rots"][:, 23:24],
                    reye_pose=t["rots"][:, 24:25], left_hand_pose=t["rots"][:, 25:40],
                    right_hand_pose=t["rots"][:, 40:55], betas=t["betas"], transl=t["transl"])
    verts, joints = out.vertices.numpy(), out.joints.numpy()
    assert np.isfinite(verts).all() and verts.shape == (b, len(model["v_template"]), 3)
    assert joints.shape == (b, 55 + 21 + 51, 3)

    # joints are pure forward kinematics of J_regressor @ (shaped template)
    shaped = model["v_template"][None] + np.einsum("vck,bk->bvc", model["shapedirs"][:, :, :10],
                                                   betas)
    for n in range(b):
        rest_n = model["J_regressor"] @ shaped[n]
        R, pos = _forward_kinematics(rest_n, rots[n:n + 1])
        np.testing.assert_allclose(joints[n, :55], pos[0] + transl[n], atol=1e-7)
        # vertices: linear blend skinning with the model's weights (no pose correctives)
        local = shaped[n][:, None, :] - rest_n[None]  # (V, 55, 3)
        moved = np.einsum("jab,vjb->vja", R[0], local) + pos[0][None]
        expected = np.einsum("vj,vja->va", model["weights"], moved) + transl[n]
        np.testing.assert_allclose(verts[n], expected, atol=1e-7)
    # extra joints are the chosen vertices (in VertexJointSelector's order)
    order = ["nose", "reye", "leye", "rear", "lear", "LBigToe", "LSmallToe", "LHeel", "RBigToe",
             "RSmallToe", "RHeel"] + [s + d for s in "lr"
                                       for d in ("thumb", "index", "middle", "ring", "pinky")]
    np.testing.assert_allclose(joints[:, 55:76], verts[:, [ids[k] for k in order]], atol=1e-12)


def test_face_contour_works_in_smplx(model, npz_path):
    torch = pytest.importorskip("torch")
    smplx = pytest.importorskip("smplx")
    from smplx.vertex_joint_selector import VertexJointSelector

    layer = smplx.SMPLXLayer(model_path=str(npz_path), ext="npz", num_betas=10, use_pca=False,
                             use_face_contour=True)
    layer.vertex_joint_selector = VertexJointSelector(vertex_ids=pb.procedural_vertex_ids(model))
    with torch.no_grad():
        out = layer(body_pose=torch.eye(3).expand(2, 21, 3, 3))
    assert out.joints.shape == (2, 55 + 21 + 51 + 17, 3)
    assert torch.isfinite(out.joints).all()
