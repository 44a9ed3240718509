// Demo register for the fake backend: a few enterprises of 儒林镇 (Jintan) with the
// search keys the device store would compute (pinyin initials / full pinyin).
import type { EnterpriseDetail } from './types';

export interface FakeEnterprise {
  detail: EnterpriseDetail;
  initials: string;
  full: string;
  category: 'metal' | 'agri_food' | 'wood_paper' | 'textile' | 'rubber_plastic' | 'coal' | 'other' | null;
}

const base = {
  location: null, industry: null, dust_involved: true, dust_types: [] as string[], workers_per_shift: null,
  al_mg: false, key_supervision: false, safety_officer: null, risk_report: 'unknown' as const,
  warning_education: 'unknown' as const, village_name: '后庄村村委会', town_name: '儒林镇',
  sites_as_landlord: [], leases_as_tenant: [], address: null, village_code: '320413104206',
};

const lease = {
  id: '01a22986-e8b4-75d8-bf29-8a96d787daa0', site_id: '851e17d1-e822-5e10-ad97-04888b75784a',
  tenant_id: 'a6a6ae6a-08d4-5ed7-b714-09fc34c4e377', floors: '1-2', area_m2: 1200, start_date: '2023-03-01',
  end_date: '2026-02-28', equipment_leased: false, equipment_description: null, safety_agreement_signed: true,
  pre_lease: { status: 'not_fit' as const, inspection_id: '01a22986-f1c2-7a10-9d3e-2b4c6d8e0f11', open_items: ['FZ-P-05'] },
  tenant_name: '常州市尧塘村塑业有限公司', tenant_uscc: '91320413MA88W0M625',
  site_name: '常州市华宇喷涂有限公司厂区', landlord_name: '常州市华宇喷涂有限公司',
};

export function fakeEnterprises(): FakeEnterprise[] {
  return [
    { initials: 'czsjtxclyyxgs', full: 'changzhoushijintanxinchenglvyeyouxiangongsi', category: 'metal', detail: { ...base,
      id: '3f1b7c0e-8a52-5d3e-9b7a-1c2d3e4f5a01', uscc: '91320413MA1XK7LQ3R', name: '常州市金坛鑫诚铝业有限公司',
      address: '常州市金坛区儒林镇后庄村工业园路18号', location: { lat: 31.6205, lon: 119.4951 }, industry: '铝制品加工',
      dust_types: ['铝粉'], workers_per_shift: 24, al_mg: true, key_supervision: true,
      safety_officer: { name: '王建国', phone: '13800000001', confirmed_on_site: false },
      risk_report: 'not_filed', warning_education: 'attended' } },
    { initials: 'czsjtxcfzpyxgs', full: 'changzhoushijintanxinchengfangzhipinyouxiangongsi', category: 'textile', detail: { ...base,
      id: '13e2be5c-25fb-5f72-827f-9c8f9fe18d72', uscc: '91320413MATTFLMPY7', name: '常州市金坛新城纺织品有限公司',
      address: '常州市金坛区儒林镇后庄村工业园路282号', location: { lat: 31.62112, lon: 119.494699 }, industry: '纺织',
      dust_types: ['棉花'], workers_per_shift: 8 } },
    { initials: 'czshyptyxgs', full: 'changzhoushihuayupentuyouxiangongsi', category: 'rubber_plastic', detail: { ...base,
      id: '4b8c1d2e-3f40-5a61-b7c8-d9e0f1a2b3c4', uscc: '91320413MAEGYGDP7M', name: '常州市华宇喷涂有限公司',
      address: '常州市金坛区儒林镇柚山村晨风路35号', industry: '表面喷涂', dust_types: ['树脂粉'], workers_per_shift: 12,
      village_name: '柚山村村委会', village_code: '320413104210', risk_report: 'filed', warning_education: 'verified',
      safety_officer: { name: '李红', phone: '13900000002', confirmed_on_site: true },
      sites_as_landlord: [{ id: lease.site_id, name: lease.site_name, address: '常州市金坛区儒林镇柚山村晨风路35号',
        landlord_id: '4b8c1d2e-3f40-5a61-b7c8-d9e0f1a2b3c4', storeys: 3, structure: '框架', leases: [lease] }] } },
    { initials: 'czsytcsyyxgs', full: 'changzhoushiyaotangcunsuyeyouxiangongsi', category: 'rubber_plastic', detail: { ...base,
      id: lease.tenant_id, uscc: lease.tenant_uscc, name: lease.tenant_name,
      address: '常州市金坛区儒林镇柚山村晨风路35号2号楼', industry: '塑料制品', dust_types: ['树脂粉'], workers_per_shift: 60,
      village_name: '柚山村村委会', village_code: '320413104210', leases_as_tenant: [lease] } },
    { initials: 'jsjtjymyyxgs', full: 'jiangsujintanjiayuanmuyeyouxiangongsi', category: 'wood_paper', detail: { ...base,
      id: '5c9d2e3f-4a51-5b72-c8d9-e0f1a2b3c4d5', uscc: '91320413MA20QWER9K', name: '江苏金坛嘉园木业有限公司',
      address: '常州市金坛区儒林镇五叶村木业路6号', industry: '木制品加工', dust_types: ['木粉'], workers_per_shift: 15,
      village_name: '五叶村村委会', village_code: '320413104203', risk_report: 'helped_on_site' } },
    { initials: 'jtqrlzmfc', full: 'jintanqurulinzhenmianfenchang', category: 'agri_food', detail: { ...base,
      id: '6d0e3f4a-5b62-5c83-d9e0-f1a2b3c4d5e6', uscc: '92320413MA1N8H2L5T', name: '金坛区儒林镇面粉厂',
      address: '常州市金坛区儒林镇儒林街77号', industry: '粮食加工', dust_types: ['小麦粉'], workers_per_shift: 5,
      village_name: '儒林村村委会', village_code: '320413104201' } },
    { initials: 'czsjtrlwjjxc', full: 'changzhoushijintanrulinwujinjixiechang', category: null, detail: { ...base,
      id: '7e1f4a5b-6c73-5d94-e0f1-a2b3c4d5e6f7', uscc: '92320413MA1P3K4M6U', name: '常州市金坛儒林五金机械厂',
      address: '常州市金坛区儒林镇后庄村', industry: '机械加工', dust_involved: false } },
  ];
}
