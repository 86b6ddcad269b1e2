"""The schema tree shown on operation pages (apis/schemas.py), without the database."""

from __future__ import annotations

from apis import schemas
from tests.petstore import COMPONENTS, ref


def child(node: schemas.Node, name: str) -> schemas.Node:
    return next(c for c in node.children if c.name == name)


def test_it_shows_an_objects_properties_with_type_format_required_enum_default_and_description():
    pet = schemas.tree(ref("Pet"), COMPONENTS)
    assert pet.ref == "Pet" and pet.type == "object" and pet.description == "A pet in the store."
    assert [c.name for c in pet.children][:4] == ["id", "name", "category", "photoUrls"]
    assert child(pet, "id").format == "int64" and child(pet, "id").read_only and child(pet, "id").example == "10"
    assert child(pet, "name").required and not child(pet, "id").required
    assert child(pet, "name").constraints == ["at least 1 characters", "at most 40 characters"]
    status = child(pet, "status")
    assert status.enum == ["available", "pending", "sold"] and status.description == "pet status in the store"
    assert child(pet, "weight").default == "2.5" and child(pet, "weight").constraints == ["≥ 0.1"]
    assert child(pet, "nickname").deprecated and child(pet, "secret").write_only


def test_it_reads_nullable_types_and_arrays_of_objects():
    pet = schemas.tree(ref("Pet"), COMPONENTS)
    birthday = child(pet, "birthday")
    assert birthday.type == "string" and birthday.nullable and birthday.label == "string (date)"
    tags = child(pet, "tags")
    assert tags.label == "array of Tag"
    assert [c.name for c in tags.children[0].children] == ["id", "name"]
    assert child(pet, "photoUrls").label == "array of string (uri)"
    legacy = schemas.tree({"type": "string", "nullable": True}, {})
    assert legacy.nullable and legacy.type == "string"


def test_it_shows_one_of_any_of_and_all_of_as_alternatives():
    contact = child(schemas.tree(ref("Pet"), COMPONENTS), "contact")
    [(label, options)] = contact.alternatives
    assert label == "One of" and [o.label for o in options] == ["string (email)", "Phone"]
    assert child(options[1], "number").constraints == ["matches ^[0-9+ ]+$"]
    search = schemas.tree(ref("Search"), COMPONENTS)
    assert search.alternatives[0][0] == "Any of" and search.type == "object"
    new_pet = schemas.tree(ref("NewPet"), COMPONENTS)
    [(label, parts)] = new_pet.alternatives
    assert label == "All of" and parts[0].ref == "Pet" and child(parts[1], "adopted").required


def test_a_circular_reference_links_back_to_the_node_already_shown_and_is_not_expanded_again():
    node = schemas.tree(ref("Node"), COMPONENTS, prefix="req")
    assert node.anchor == "req-1"
    items = child(node, "children").children[0]
    assert items.name == "[]" and items.ref == "Node" and items.link == "req-1" and not items.children
    parent = child(node, "parent")
    assert parent.link == "req-1" and not parent.expandable
    assert schemas.count(node) == 5  # Node, label, children, [] (a link), parent (a link)


def test_a_schema_used_twice_side_by_side_is_shown_twice_not_as_a_link():
    both = {"type": "object", "properties": {"a": ref("Tag"), "b": ref("Tag")}}
    node = schemas.tree(both, COMPONENTS)
    assert [c.link for c in node.children] == ["", ""]
    assert all(len(c.children) == 2 for c in node.children)


def test_a_huge_schema_is_cut_to_the_node_budget_and_says_so():
    wide = {
        "schemas": {
            f"S{i}": {"type": "object", "properties": {f"p{j}": ref(f"S{i + 1}") for j in range(5)}} for i in range(30)
        }
    }
    node = schemas.tree(ref("S0"), wide, max_nodes=200)
    assert schemas.count(node) <= 201

    def cuts(n):
        return [n.cut] * bool(n.cut) + [c for ch in n.children for c in cuts(ch)]

    assert any("too large to show here in full" in c for c in cuts(node))


def test_a_deep_schema_stops_at_the_depth_limit():
    deep = {"schemas": {f"D{i}": {"type": "object", "properties": {"next": ref(f"D{i + 1}")}} for i in range(40)}}
    node = schemas.tree(ref("D0"), deep, max_depth=5)
    for _ in range(5):
        node = node.children[0]
    assert node.cut == "nested too deep to show here" and not node.children


def test_long_enums_are_shortened_and_broken_references_are_named():
    node = schemas.tree({"type": "string", "enum": [f"v{i}" for i in range(80)]}, {})
    assert len(node.enum) == schemas.MAX_ENUM and node.enum_more == 30
    broken = schemas.tree(ref("Nowhere"), COMPONENTS)
    assert broken.missing_ref == "#/components/schemas/Nowhere"


def test_a_reference_with_a_description_beside_it_keeps_that_description():
    node = schemas.tree({"$ref": "#/components/schemas/Tag", "description": "The main tag"}, COMPONENTS)
    assert node.description == "The main tag" and node.ref == "Tag" and len(node.children) == 2


def test_no_schema_gives_no_tree():
    assert schemas.tree({}, COMPONENTS) is None
    assert schemas.tree(None, COMPONENTS) is None


def test_references_are_json_pointers_with_escapes():
    components = {"schemas": {"a/b": {"type": "integer"}, "c~d": {"type": "string"}}}
    assert schemas.resolve("#/components/schemas/a~1b", components) == {"type": "integer"}
    assert schemas.resolve("#/components/schemas/c~0d", components) == {"type": "string"}
    assert schemas.resolve("other.yaml#/Pet", components) is None


def test_properties_beside_a_reference_are_shown_as_both_applying():
    node = schemas.tree({"$ref": "#/components/schemas/Tag", "required": ["name"], "properties": {"x": {}}}, COMPONENTS)
    [(label, parts)] = node.alternatives
    assert label == "All of" and parts[0].ref == "Tag" and [c.name for c in parts[1].children] == ["x"]


def test_a_chain_of_references_that_comes_back_to_itself_is_a_link_not_a_loop():
    components = {"schemas": {"A": ref("B"), "B": ref("A")}}
    node = schemas.tree(ref("A"), components)
    assert node.link == node.anchor and not node.children


def test_a_tree_out_of_budget_among_alternatives_stops_cleanly():
    node = schemas.tree({"oneOf": [ref("Pet"), ref("Tag")]}, COMPONENTS, max_nodes=1)
    assert node.cut and node.alternatives == [("One of", [])]
